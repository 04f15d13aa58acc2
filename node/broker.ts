import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import { newMessage, type Message } from '../shared/message.js';
import { parseShare, validTopicFilter, isWildcard } from '../shared/topic.js';
import type { ForwardTarget } from './cluster/forwarding/transport.js';
import { cachedUtf8 } from '../shared/cluster/message-codec.js';
import type { AccessControl, Authenticator, BannedList } from './access/index.js';
import { Alarms } from './alarms/alarms.js';
import { AlarmMonitors } from './alarms/monitors.js';
import { publishAlarms } from './alarms/sys.js';
import { hookGeneration, type Hooks } from './core/hooks.js';
import type { ClusterHooks, PacketHost, PublishResult, SubscribeResult, SysHost, TopicRewrite } from './core/ports.js';
import { PublishOutcome } from './core/publish-result.js';
import { sweep } from './core/sweep.js';
import type { TopicMetrics } from './features/topic-metrics.js';
import type { RuleEngine } from './rules/engine.js';
import type { Listener, ListenerInfo } from './listeners/listener.js';
import { metricIndex, type Metrics } from './metrics/metrics.js';
import type { Stats } from './metrics/stats.js';
import { PublishEncoder } from './protocol/codec.js';
import type { Connection } from './protocol/connection.js';
import { RC, type ShutdownReason } from './protocol/reason-codes.js';
import { FeatureRegistry } from './features/registry.js';
import { DelayedPublish } from './router/delayed.js';
import type { RetainedStore } from './router/retained.js';
import type { Router, SubOptions } from './router/router.js';
import { trieGeneration, type RouteMemo } from './router/trie.js';
import { SessionRegistry, type RegistryHost } from './session/lifecycle.js';
import { detachPayload, type Session } from './session/session.js';
import { Presence } from './sys/presence.js';
import { Resources } from './rules/resources.js';
import { SysTopics } from './sys/sys-topics.js';
import type { DurableSessions } from './session/durable/durable-sessions.js';

export type { ClusterHooks, PublishResult, SubscribeResult } from './core/ports.js';

const M_PUBLISH = metricIndex('messages.publish');
const M_DELAYED = metricIndex('messages.delayed');
const M_DROPPED = metricIndex('messages.dropped');
const M_NO_SUBSCRIBERS = metricIndex('messages.dropped.no_subscribers');

const SWEEP_MS = 1000;

const standaloneHooks: ClusterHooks = {
  hasRemoteRoutes: false,
  routeAdded() {},
  routeDeleted() {},
  forward: () => 0,
  hasRoute: () => false,
  forwardFlushed: () => Promise.resolve(),
  onForwardsDrained: (cb) => setImmediate(cb),
  claimSession: async () => null,
  sessionEnded() {},
  reachable: true,
  adoptRegistration: async () => true,
  retainedChanged() {},
};

/** What a broker is built from (node/core/compose.ts builds them). */
export interface BrokerParts {
  cfg: Config;
  log: Logger;
  metrics: Metrics;
  stats: Stats;
  hooks: Hooks;
  access: AccessControl;
  auth: Authenticator;
  banned: BannedList;
  router: Router;
  retained: RetainedStore;
  /** EMQX's topic metrics module (node/features/topic-metrics.ts) */
  topicMetrics: TopicMetrics;
  /** EMQX's rule engine (node/rules/engine.ts); built with the broker, which it publishes through */
  rules: (b: Broker) => RuleEngine;
}

/**
 * One broker node: publish/subscribe routing over the parts it is given (router, retained
 * store, access control), its sessions (session/lifecycle.ts), listeners and timers.
 * Everything an RPC layer needs to answer about the node is reachable from here as plain
 * method calls.
 */
export class Broker implements PacketHost, SysHost, RegistryHost {
  readonly cfg: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly stats: Stats;
  readonly hooks: Hooks;
  readonly access: AccessControl;
  readonly auth: Authenticator;
  readonly banned: BannedList;
  readonly router: Router;
  readonly retained: RetainedStore;
  readonly topicMetrics: TopicMetrics;
  readonly rules: RuleEngine;
  /** the listeners, wired to this broker by node/core/compose.ts; started and closed by start() and stop() */
  readonly listeners: Listener[] = [];
  /** what else the node listens on, for the listeners API (a standalone node's management API) */
  readonly otherListeners: ListenerInfo[] = [];
  readonly startedAt = Date.now();
  readonly sys: SysTopics;
  readonly presence: Presence;
  /** the node's active alarms and their history (node/alarms/: raised by its monitors) */
  readonly alarms: Alarms;
  /** what raises and clears them: memory, CPU, listener connections, the cluster's services */
  readonly alarmMonitors: AlarmMonitors;
  readonly delayed = new DelayedPublish((msg) => this.publish(msg));
  /** the plugins and modules (node/features/catalog.ts registers them once the broker is built) */
  readonly features: FeatureRegistry;
  /** the rule engine's resources instantiated on this node (node/rules/resources.ts; the cluster layer loads them) */
  readonly resources: Resources;
  private readonly registry: SessionRegistry;
  private readonly result = new PublishOutcome(this);
  private sweepTimer: NodeJS.Timeout | undefined;
  cluster: ClusterHooks = standaloneHooks;
  /** durable sessions (node/session/durable/), when on: attached before the listeners start */
  durable: DurableSessions | undefined = undefined;
  /** emqx_mod_rewrite's rules while it is loaded with some (node/features/rewrite.ts) */
  rewrite: TopicRewrite | undefined = undefined;
  stopping = false;

  constructor(parts: BrokerParts) {
    this.cfg = parts.cfg;
    this.log = parts.log;
    this.metrics = parts.metrics;
    this.stats = parts.stats;
    this.hooks = parts.hooks;
    this.access = parts.access;
    this.auth = parts.auth;
    this.banned = parts.banned;
    this.router = parts.router;
    this.retained = parts.retained;
    this.topicMetrics = parts.topicMetrics;
    this.rules = parts.rules(this);
    this.registry = new SessionRegistry(this);
    this.sys = new SysTopics(this);
    this.presence = new Presence(this.hooks, this);
    this.features = new FeatureRegistry(this.cfg.nodeName, this.log.child({ component: 'features' }));
    this.resources = new Resources(this.log.child({ component: 'resources' }));
    this.alarms = new Alarms(this.hooks, this.log.child({ component: 'alarms' }), this.cfg.alarmSizeLimit);
    this.alarmMonitors = new AlarmMonitors(this);
    publishAlarms(this.hooks, this);
    if (this.cfg.presenceEvents) this.presence.enable();
  }

  get nodeName(): string {
    return this.cfg.nodeName;
  }

  /** sessions by clientid (read-only: the session registry changes it) */
  get sessions(): ReadonlyMap<string, Session> {
    return this.registry.sessions;
  }

  /** connections that completed CONNECT */
  get connections(): ReadonlySet<Connection> {
    return this.registry.connections;
  }

  /** Starts every listener; returns protocol → bound port. */
  async start(): Promise<Record<string, number>> {
    const ports: Record<string, number> = {};
    for (const l of this.listeners) {
      ports[l.protocol] = await l.start();
      this.log.info({ listener: l.protocol, address: this.cfg.bind, port: l.port }, 'listener started');
    }
    this.sweepTimer = setInterval(() => sweep(this.cfg, this.registry.connections, this.listeners, Date.now()), SWEEP_MS);
    this.sweepTimer.unref();
    this.sys.start();
    this.alarmMonitors.start();
    return ports;
  }

  /** Stops accepting, tells MQTT 5 clients the server is shutting down, closes everything. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweepTimer);
    this.sys.stop();
    this.alarmMonitors.stop();
    this.delayed.stop();
    const closing = this.listeners.map((l) => l.close());
    this.registry.stop();
    await Promise.all(closing);
  }

  // ---- publish / subscribe ----

  /**
   * Routes one message to local subscribers and other nodes. The result (one reused
   * object) says how many deliveries it made and what the publisher must wait for.
   */
  publish(msg: Message): PublishResult {
    const m = this.metrics;
    const r = this.result;
    // EMQX rewrites in its first message.publish hook: everything after sees the new topic
    const rw = this.rewrite;
    if (rw !== undefined) rw.publish(msg);
    if (!msg.sys) m.inc(M_PUBLISH);
    const published = this.hooks.messagePublish;
    if (published.active) published.emit({ message: msg });
    if (msg.topic.charCodeAt(0) === 36 /* $ */ && !msg.sys) {
      const delayed = this.delayed.take(msg);
      if (delayed === true) {
        detachPayload(msg);
        m.inc(M_DELAYED);
        return r.local(1);
      }
      if (delayed === 'invalid') {
        m.inc(M_DROPPED);
        const dropped = this.hooks.messageDropped;
        if (dropped.active) dropped.emit({ message: msg, reason: 'invalid_delayed', clientid: undefined });
        return r.local(0);
      }
    }
    if (msg.retain && this.cfg.retainAvailable && this.retained.enabled) {
      detachPayload(msg);
      this.retained.set(msg);
      this.cluster.retainedChanged(msg.topic, msg.payload.length > 0 ? msg : undefined);
    }
    // a durable session that takes a copy stores it: the acknowledgement waits for that too
    const w = this.durable?.writer;
    const appends = w === undefined ? 0 : w.appends;
    let n: number;
    if (this.cluster.hasRemoteRoutes) {
      const enc = new PublishEncoder(msg.topic, msg.payload);
      n = this.router.dispatch(msg, enc, false);
      // reset after the local deliveries: anything they published meanwhile has its own result
      r.forwarded = false;
      r.backlogged = false;
      r.stored = false;
      n += this.cluster.forward(msg, enc, r);
      r.delivered = n;
    } else {
      // the router makes the encoder when someone is subscribed
      n = this.router.dispatch(msg, undefined, true);
      r.local(n);
    }
    if (w !== undefined && w.appends !== appends) r.stored = true;
    if (n === 0 && !msg.sys) {
      m.inc(M_NO_SUBSCRIBERS);
      m.inc(M_DROPPED);
      const dropped = this.hooks.messageDropped;
      if (dropped.active) dropped.emit({ message: msg, reason: 'no_subscribers', clientid: undefined });
    }
    return r;
  }

  /**
   * A message on `topic` that would reach no one and that nothing observes (no subscriber
   * here or on another node, not retained, no `$` topic, no rewrite, no message.dropped
   * listener, no message.publish listener but the rule engine with no rule on the topic) is
   * only counted, as publish() counts it: true when so, and the caller builds no message
   * (a republish to a topic nobody subscribes to costs route lookups and counters). A caller
   * asking about one topic again and again passes its memo: while no route, hook listener
   * (rules come and go with the rule engine's) or rewrite changed, nothing is checked again.
   */
  dropIfUnrouted(topic: string, retain: boolean, memo?: RouteMemo): boolean {
    if (retain && this.cfg.retainAvailable && this.retained.enabled) return false;
    let unrouted: boolean;
    // while no route, hook listener or rewrite changed, the memo's answer holds (no check repeated)
    if (memo !== undefined && memo.topic === topic && memo.generation === trieGeneration() && memo.watch === hookGeneration() && memo.rewrite === this.rewrite) unrouted = memo.unrouted;
    else {
      unrouted = this.unrouted(topic);
      if (memo !== undefined) {
        memo.topic = topic;
        memo.generation = trieGeneration();
        memo.watch = hookGeneration();
        memo.rewrite = this.rewrite;
        memo.unrouted = unrouted;
      }
    }
    if (!unrouted) return false;
    const m = this.metrics;
    m.inc(M_PUBLISH);
    m.inc(M_NO_SUBSCRIBERS);
    m.inc(M_DROPPED);
    return true;
  }

  /** Whether a message on `topic` (not retained) would reach and be seen by no one (dropIfUnrouted). */
  private unrouted(topic: string): boolean {
    if (this.rewrite !== undefined || topic.charCodeAt(0) === 36 /* $ */ || this.hooks.messageDropped.active) return false;
    const published = this.hooks.messagePublish;
    if (published.active && (published.listenerCount !== 1 || !this.rules.onlyPublishListener(topic))) return false;
    return this.router.match(topic).length === 0 && !(this.cluster.hasRemoteRoutes && this.cluster.hasRoute(topic));
  }

  /** A message another node forwarded here: to the local subscribers it names. */
  deliverForwarded(msg: Message, target: ForwardTarget): number {
    const enc = new PublishEncoder(msg.topic, msg.payload, cachedUtf8(msg.topic));
    if (target.kind === 'shared') return this.router.deliverShared(target.filter!, target.group!, msg, enc) ? 1 : 0;
    return this.router.dispatch(msg, enc, false);
  }

  /**
   * Subscribes a session to a filter as subscribed (`$share/...` and `$queue/...` included).
   * `conn` is given for a client's own SUBSCRIBE (ACL is checked for it); the API subscribes
   * on a client's behalf without. `asSent` is the filter as the client sent it when a topic
   * rewrite changed it: ACL checks that one, as EMQX checks before rewriting.
   */
  subscribe(session: Session, topic: string, opts: SubOptions, conn?: Connection, asSent?: string): SubscribeResult {
    const cfg = this.cfg;
    const fail = (code: number): SubscribeResult => ({ code, isNew: false, filter: topic, opts });
    const share = parseShare(topic);
    if (share === null) return fail(RC.TOPIC_FILTER_INVALID);
    const filter = share ? share.filter : topic;
    if (!validTopicFilter(filter, { maxLevels: cfg.maxTopicLevels })) return fail(RC.TOPIC_FILTER_INVALID);
    if (share && !cfg.sharedSubscription) return fail(RC.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED);
    if (share && opts.nl) return fail(RC.PROTOCOL_ERROR); // [MQTT-3.8.3-4]
    if (!cfg.wildcardSubscription && isWildcard(filter)) return fail(RC.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED);
    const existing = session.subscriptions.has(topic);
    if (!existing && cfg.maxSubscriptions > 0 && session.subscriptions.size >= cfg.maxSubscriptions) return fail(RC.QUOTA_EXCEEDED);
    const aclFilter = asSent === undefined ? filter : (parseShare(asSent)?.filter ?? asSent);
    if (conn && this.access.check(conn, conn.aclCache, 'subscribe', aclFilter) === 'deny') return fail(RC.NOT_AUTHORIZED);
    // the granted QoS is capped by what the server allows [MQTT-3.9.3]
    const qos = (opts.qos > cfg.maxQosAllowed ? cfg.maxQosAllowed : opts.qos) as SubOptions['qos'];
    const stored: SubOptions = { ...opts, qos, share: share ? share.group : undefined };
    session.addSubscription(topic, stored);
    this.router.subscribe(session, filter, stored);
    this.subscriptionsChanged();
    session.journal?.changed();
    const h = this.hooks.sessionSubscribed;
    if (h.active) h.emit({ clientid: session.clientId, topic, opts: stored, isNew: !existing });
    return { code: qos, isNew: !existing, filter, opts: stored };
  }

  /** Removes one subscription; returns an MQTT 5 UNSUBACK reason code. */
  unsubscribe(session: Session, topic: string): number {
    const opts = session.subscriptions.get(topic);
    if (!opts) {
      const share = parseShare(topic);
      const filter = share ? share.filter : topic;
      return share === null || !validTopicFilter(filter) ? RC.TOPIC_FILTER_INVALID : RC.NO_SUBSCRIPTION_EXISTED;
    }
    session.subscriptions.delete(topic);
    const share = parseShare(topic);
    this.router.unsubscribe(session.clientId, share ? share.filter : topic, opts.share);
    this.subscriptionsChanged();
    session.journal?.changed();
    const h = this.hooks.sessionUnsubscribed;
    if (h.active) h.emit({ clientid: session.clientId, topic });
    return RC.SUCCESS;
  }

  /** The subscription stats, after any change of the router's table. */
  subscriptionsChanged(): void {
    const r = this.router;
    this.stats.set('subscriptions', r.subscriptionCount);
    this.stats.set('suboptions', r.subscriptionCount);
    this.stats.set('subscriptions.shared', r.sharedSubscriptionCount);
    this.stats.set('subscribers', r.subscriptionCount - r.sharedSubscriptionCount);
    this.stats.set('topics', r.filterCount);
    this.stats.set('routes', r.filterCount);
  }

  /** Sends a broker-originated message ($SYS, presence). */
  publishSys(topic: string, payload: string, retain = false): void {
    this.publish(newMessage({ topic, payload: Buffer.from(payload), qos: 0, retain, from: this.nodeName, sys: true }));
  }

  onForwardsDrained(cb: () => void): void {
    this.cluster.onForwardsDrained(cb);
  }

  /** Resolves once the copies durable sessions stored during this I/O turn are stored. */
  durableBarrier(): Promise<void> {
    return this.durable?.writer.barrier() ?? Promise.resolve();
  }

  // ---- sessions (session/lifecycle.ts) ----

  openClusterSession(conn: Connection, clientId: string, cleanStart: boolean, expiryInterval: number): Promise<{ session: Session; present: boolean }> {
    return this.registry.openClusterSession(conn, clientId, cleanStart, expiryInterval);
  }

  clientConnected(conn: Connection): void {
    this.registry.clientConnected(conn);
  }

  connectionClosed(conn: Connection, reason: ShutdownReason, wasConnected: boolean): void {
    this.registry.connectionClosed(conn, reason, wasConnected);
  }

  /** The session moved to (or was discarded by) another node [MQTT-3.1.4-3]. */
  handOver(session: Session, transferred: boolean): void {
    this.registry.handOver(session, transferred);
  }

  /** Kicks a client off this node (DELETE /api/v4/clients/{clientid}); false when it is not here. */
  kick(clientId: string): boolean {
    return this.registry.kick(clientId);
  }

  /** Takes on, offline, a durable session whose node died (its record claimed for this node). */
  adoptSession(clientId: string, deadNode: string): Promise<void> {
    return this.registry.adoptSession(clientId, deadNode);
  }
}
