/*
 * Catalog entry: EMQX name `emqx_mod_subscription`, namespace modules, type `feature`,
 * description "EMQX Subscription Module", default state: loaded when `autoSubscribe`
 * (STARLING_AUTO_SUBSCRIBE) is set. Factory: autoSubscribeModule(broker).
 */
import { ConfigError, type Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { QoS } from '../../shared/message.js';
import { validTopicFilter } from '../../shared/topic.js';
import type { ClientConnectedEvent, Detach, Hooks } from '../core/hooks.js';
import type { ClientSession, PacketHost } from '../core/ports.js';
import { wantsRetained } from '../protocol/handlers/subscribe.js';
import type { SubOptions } from '../router/router.js';
import type { Feature } from './feature.js';
import { jsonList } from './json-setting.js';

/** One configured topic: `%c` and `%u` levels stand for the clientid and the username. */
export interface AutoSubscription {
  topic: string;
  qos: QoS;
  nl: boolean;
  rap: boolean;
  rh: 0 | 1 | 2;
}

function flag(v: unknown, at: string): boolean {
  if (v === undefined || v === 0 || v === false) return false;
  if (v === 1 || v === true) return true;
  throw new ConfigError(`${at} must be 0, 1, true or false, got ${JSON.stringify(v)}`);
}

function upTo2(v: unknown, at: string): 0 | 1 | 2 {
  if (v === undefined) return 0;
  if (v === 0 || v === 1 || v === 2) return v;
  throw new ConfigError(`${at} must be 0, 1 or 2, got ${JSON.stringify(v)}`);
}

/** Parses STARLING_AUTO_SUBSCRIBE: a JSON array of {topic, qos, nl, rap, rh}; a bad entry is a ConfigError naming its position. */
export function parseAutoSubscribe(raw: string | undefined): AutoSubscription[] {
  if (raw === undefined) return [];
  return jsonList(raw, 'autoSubscribe (STARLING_AUTO_SUBSCRIBE)', '{"topic","qos","nl","rap","rh"}').map((o, i) => {
    const at = `autoSubscribe[${i}]`;
    if (typeof o.topic !== 'string' || !validTopicFilter(o.topic)) throw new ConfigError(`${at}.topic must be a valid topic filter, got ${JSON.stringify(o.topic)}`);
    return { topic: o.topic, qos: upTo2(o.qos, `${at}.qos`), nl: flag(o.nl, `${at}.nl`), rap: flag(o.rap, `${at}.rap`), rh: upTo2(o.rh, `${at}.rh`) };
  });
}

/**
 * The topic for one client, or undefined when it has a `%u` level and the client no
 * username (EMQX skips it). As EMQX does, only whole levels are placeholders.
 */
export function topicFor(template: string, clientid: string, username: string | undefined): string | undefined {
  if (!template.includes('%')) return template;
  const levels = template.split('/');
  for (let i = 0; i < levels.length; i++) {
    if (levels[i] === '%c') levels[i] = clientid;
    else if (levels[i] === '%u') {
      if (username === undefined) return undefined;
      levels[i] = username;
    }
  }
  return levels.join('/');
}

/** What the module needs of its node (Broker has it). */
export interface AutoSubscribeHost extends Pick<PacketHost, 'subscribe' | 'retained'> {
  readonly cfg: Config;
  readonly log: Logger;
  readonly hooks: Hooks;
  readonly sessions: ReadonlyMap<string, ClientSession>;
}

/**
 * emqx_mod_subscription: on client.connected the client is subscribed to the configured
 * topics as if it had sent SUBSCRIBE (no ACL check, as EMQX's own subscribe), so the
 * subscription is counted, routed, shown by the API and gets the retained messages per its
 * Retain Handling. MQTT 3.x clients get the QoS only, as EMQX gives them.
 */
export function autoSubscribeModule(host: AutoSubscribeHost): Feature {
  let detach: Detach | undefined;
  let topics: AutoSubscription[] = [];

  const connected = ({ client }: ClientConnectedEvent): void => {
    const session = host.sessions.get(client.clientid);
    if (!session) return;
    for (const t of topics) {
      const topic = topicFor(t.topic, client.clientid, client.username);
      if (topic === undefined || topic === '') continue;
      const opts: SubOptions =
        client.protoVer === 5 ? { qos: t.qos, nl: t.nl, rap: t.rap, rh: t.rh, subId: undefined, share: undefined } : { qos: t.qos, nl: false, rap: false, rh: 0, subId: undefined, share: undefined };
      const r = host.subscribe(session, topic, opts);
      if (r.code >= 0x80) {
        host.log.warn({ clientid: client.clientid, topic, code: r.code }, 'auto subscribe refused');
        continue;
      }
      if (wantsRetained(r)) for (const msg of host.retained.match(r.filter)) session.deliverRetained(msg, r.opts);
    }
  };

  return {
    get active() {
      return detach !== undefined;
    },
    load() {
      topics = parseAutoSubscribe(host.cfg.autoSubscribe);
      detach = host.hooks.clientConnected.on(connected);
    },
    unload() {
      detach?.();
      detach = undefined;
    },
  };
}
