/*
 * Catalog entry: EMQX name `emqx_web_hook`, namespace plugins, type `feature`, description
 * "EMQX WebHook Plugin", default state: unloaded (as EMQX). Factory: webHookPlugin(broker).
 */
import type { Config } from '../../../shared/config.js';
import type { Logger } from '../../../shared/logger.js';
import type { Message } from '../../../shared/message.js';
import type { Detach, Hooks } from '../../core/hooks.js';
import { TopicTrie } from '../../router/trie.js';
import type { Feature } from '../feature.js';
import * as body from './bodies.js';
import { WebHookSender, type SenderCounts } from './sender.js';
import { webHookSettings, type WebHookEvent, type WebHookRule } from './settings.js';

/** A client as the web hook reads its username (Broker's sessions have this shape). */
interface ClientView {
  readonly conn: { readonly info: { readonly username: string | undefined } | undefined } | undefined;
  readonly lastConn: { readonly info: { readonly username: string | undefined } | undefined } | undefined;
}

/** What the plugin needs of its node (Broker has it). */
export interface WebHookHost {
  readonly cfg: Config;
  readonly log: Logger;
  readonly hooks: Hooks;
  readonly nodeName: string;
  readonly sessions: ReadonlyMap<string, ClientView>;
}

/** Whether an event's topic is wanted: any rule without a topic takes all, else a trie of the rules' filters. */
type TopicTest = (topic: string) => boolean;

function topicTest(rules: WebHookRule[]): TopicTest {
  if (rules.some((r) => r.topic === undefined)) return () => true;
  const trie = new TopicTrie<true>();
  for (const r of rules) trie.set(r.topic!, true);
  // cached per topic: a topic seen before costs one Map lookup
  return (topic) => trie.matchCached(topic).length > 0;
}

/**
 * A session discarded by a clean start or taken over by another connection: EMQX runs
 * session.discarded / session.takeovered for it, not session.terminated (emqx_session:terminate/3),
 * and its web hook has no rule for those; the client_disconnected body says why.
 */
function movedOn(reason: string): boolean {
  return reason === 'discarded' || reason === 'takeovered';
}

/** EMQX's web hook sends nothing about `$SYS/` messages. */
function sysTopic(m: Message): boolean {
  return m.sys || m.topic.startsWith('$SYS/');
}

/** The plugin, with what its delivery counted since it was loaded. */
export interface WebHookPlugin extends Feature {
  /** sent, failed and dropped requests while loaded; undefined while unloaded */
  readonly counts: SenderCounts | undefined;
}

/**
 * emqx_web_hook: HTTP POSTs of client, session and message events to one URL, EMQX's JSON
 * bodies, for the events the rules name (several rules for one event: sent once when any
 * matches). While loaded, each ruled hookpoint has one listener that builds the body and
 * queues it (web-hook/sender.ts); unloaded, every listener is detached and the connections
 * are closed. Loading without a URL is refused.
 */
export function webHookPlugin(host: WebHookHost): WebHookPlugin {
  let detach: Detach[] = [];
  let sender: WebHookSender | undefined;

  const usernameOf = (clientid: string): string | undefined => {
    const s = host.sessions.get(clientid);
    return (s?.conn ?? s?.lastConn)?.info?.username;
  };

  const attach = (event: WebHookEvent, rules: WebHookRule[], ctx: body.BodyContext, out: WebHookSender): Detach => {
    const want = topicTest(rules);
    const h = host.hooks;
    switch (event) {
      case 'client.connect':
        return h.clientConnect.on((e) => out.send(body.clientConnect(ctx, e)));
      case 'client.connack':
        return h.clientConnack.on((e) => out.send(body.clientConnack(ctx, e)));
      case 'client.subscribe':
        return h.clientSubscribe.on((e) => {
          if (want(body.plainFilter(e.topic))) out.send(body.clientSubscribe(ctx, e));
        });
      case 'client.unsubscribe':
        return h.clientUnsubscribe.on((e) => {
          if (want(body.plainFilter(e.topic))) out.send(body.clientUnsubscribe(ctx, e));
        });
      case 'session.terminated':
        return h.sessionTerminated.on((e) => {
          if (!movedOn(e.reason)) out.send(body.sessionTerminated(ctx, e));
        });
      case 'client.connected':
        return h.clientConnected.on((e) => out.send(body.clientConnected(ctx, e)));
      case 'client.disconnected':
        return h.clientDisconnected.on((e) => out.send(body.clientDisconnected(ctx, e)));
      case 'session.subscribed':
        return h.sessionSubscribed.on((e) => {
          if (want(body.plainFilter(e.topic))) out.send(body.sessionSubscribed(ctx, e, usernameOf(e.clientid)));
        });
      case 'session.unsubscribed':
        return h.sessionUnsubscribed.on((e) => {
          if (want(body.plainFilter(e.topic))) out.send(body.sessionUnsubscribed(ctx, e, usernameOf(e.clientid)));
        });
      case 'message.publish':
        return h.messagePublish.on(({ message: m }) => {
          if (!sysTopic(m) && want(m.topic)) out.send(body.messagePublish(ctx, m));
        });
      case 'message.delivered':
        return h.messageDelivered.on((e) => {
          if (!sysTopic(e.message) && want(e.message.topic)) out.send(body.messageDelivered(ctx, e, usernameOf(e.clientid)));
        });
      case 'message.acked':
        return h.messageAcked.on((e) => {
          if (!sysTopic(e.message) && want(e.message.topic)) out.send(body.messageAcked(ctx, e, usernameOf(e.clientid)));
        });
      case 'message.dropped':
        return h.messageDropped.on((e) => {
          if (!sysTopic(e.message) && want(e.message.topic)) out.send(body.messageDropped(ctx, e, e.clientid === undefined ? undefined : usernameOf(e.clientid)));
        });
    }
  };

  return {
    get active() {
      return sender !== undefined;
    },
    get counts() {
      return sender?.counts;
    },
    load() {
      const s = webHookSettings(host.cfg);
      const out = new WebHookSender(s, host.log.child({ component: 'web_hook' }));
      const ctx: body.BodyContext = { node: host.nodeName, encoding: s.encoding };
      const byEvent = new Map<WebHookEvent, WebHookRule[]>();
      for (const r of s.rules) byEvent.set(r.event, [...(byEvent.get(r.event) ?? []), r]);
      detach = [...byEvent].map(([event, rules]) => attach(event, rules, ctx, out));
      sender = out;
      host.log.info({ url: s.url.href, events: [...byEvent.keys()] }, 'web hook loaded');
    },
    unload() {
      for (const d of detach) d();
      detach = [];
      sender?.close();
      sender = undefined;
    },
  };
}
