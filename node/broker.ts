import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import { newMessage, type Message } from '../shared/message.js';
import { parseShare, validTopicFilter, isWildcard } from '../shared/topic.js';
import { AccessControl, Authenticator, BannedList, loadBannedFile, loadUsersFile } from './access/index.js';
import { Listener } from './listeners/listener.js';
import { tcpListener } from './listeners/tcp.js';
import { tlsListener } from './listeners/tls.js';
import { wsListener } from './listeners/ws.js';
import { Metrics, metricIndex } from './metrics/metrics.js';
import { Stats } from './metrics/stats.js';
import { PublishEncoder } from './protocol/codec.js';
import { ConnState, type Connection } from './protocol/connection.js';
import { RC, type ShutdownReason } from './protocol/reason-codes.js';
import { RetainedStore } from './router/retained.js';
import { DelayedPublish } from './router/delayed.js';
import { Router, type RouterEvents, type SubOptions } from './router/router.js';
import { Session, detachPayload } from './session/session.js';
import { importSession } from './cluster/session-transfer.js';
import type { ForwardTarget } from './cluster/forwarding/transport.js';
import { cachedUtf8 } from '../shared/cluster/message-codec.js';
import type { SessionTransfer } from '../shared/api/session.js';
import { Presence } from './sys/presence.js';
import { SysTopics } from './sys/sys-topics.js';

const M_PUBLISH = metricIndex('messages.publish');
const M_CHECK_ACL = metricIndex('client.check_acl');
const M_RETAINED = metricIndex('messages.retained');
const M_DELAYED = metricIndex('messages.delayed');
const M_DROPPED = metricIndex('messages.dropped');
const M_NO_SUBSCRIBERS = metricIndex('messages.dropped.no_subscribers');
const M_DISCONNECTED = metricIndex('client.disconnected');
const M_SESSION_CREATED = metricIndex('session.created');
const M_SESSION_RESUMED = metricIndex('session.resumed');
const M_SESSION_TAKEOVERED = metricIndex('session.takeovered');
const M_SESSION_DISCARDED = metricIndex('session.discarded');
const M_SESSION_TERMINATED = metricIndex('session.terminated');

const NEVER_EXPIRES = 0xffffffff;
const SWEEP_MS = 1000;

/** The outcome of one subscription request: a reason code (MQTT 5 numbering) and what was stored. */
export interface SubscribeResult {
  code: number;
  isNew: boolean;
  filter: string;
  opts: SubOptions;
}

/**
 * What the broker asks of the cluster layer (node/cluster/cluster.ts). Standalone, the
 * same layer runs over the in-process transport and the in-memory store.
 */
export interface ClusterHooks extends RouterEvents {
  /** whether any other node has a route: while none does, publishing stays local */
  readonly hasRemoteRoutes: boolean;
  /**
   * Forwards a message to the other nodes with matching routes and makes the cluster-wide
   * choice for shared groups (possibly delivering to a local member); returns deliveries.
   */
  forward(msg: Message, enc: PublishEncoder): number;
  /**
   * After forward() sent anything: resolves once the nodes it went to have it (the
   * transport's flush). A QoS 1/2 PUBLISH is acknowledged only then.
   */
  forwardFlushed(): Promise<void> | undefined;
  /**
   * Whether `msg` went to another node (it was the last forward()) while the transport is
   * backlogged: its publisher is then read no further until onForwardsDrained() calls back.
   */
  forwardsBacklogged(msg: Message): boolean;
  onForwardsDrained(cb: () => void): void;
  /** A client connects: registers it here and, when another node has its session, takes it over. */
  claimSession(clientid: string, transfer: boolean): Promise<SessionTransfer | null>;
  /** A session ended here. */
  sessionEnded(clientid: string): void;
  /** A retained message was set (or deleted, msg undefined) by a publish on this node. */
  retainedChanged(topic: string, msg: Message | undefined): void;
}

const standaloneHooks: ClusterHooks = {
  hasRemoteRoutes: false,
  routeAdded() {},
  routeDeleted() {},
  forward: () => 0,
  forwardFlushed: () => undefined,
  forwardsBacklogged: () => false,
  onForwardsDrained: (cb) => setImmediate(cb),
  claimSession: async () => null,
  sessionEnded() {},
  retainedChanged() {},
};

/**
 * One broker node: its listeners, connections, sessions, subscriptions, retained
 * messages, access control and counters. Everything an RPC layer needs to answer about
 * the node is reachable from here as plain method calls.
 */
export class Broker {
  readonly metrics = new Metrics();
  readonly stats = new Stats();
  readonly router: Router;
  readonly retained: RetainedStore;
  readonly sessions = new Map<string, Session>();
  readonly connections = new Set<Connection>();
  readonly access: AccessControl;
  readonly auth: Authenticator;
  readonly banned = new BannedList();
  readonly listeners: Listener[] = [];
  readonly startedAt = Date.now();
  readonly sys: SysTopics;
  readonly delayed = new DelayedPublish((msg) => this.publish(msg));
  readonly presence: Presence;
  private connectedCount = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** delayed wills by session, with the function that publishes each */
  private willTimers = new Map<Session, { timer: NodeJS.Timeout; fire: () => void }>();
  cluster: ClusterHooks = standaloneHooks;
  stopping = false;

  constructor(
    readonly cfg: Config,
    readonly log: Logger,
  ) {
    this.router = new Router(cfg.sharedDispatchStrategy, {
      routeAdded: (f) => this.cluster.routeAdded(f),
      routeDeleted: (f) => this.cluster.routeDeleted(f),
    });
    this.retained = new RetainedStore((n) => {
      this.metrics.values[M_RETAINED] = n;
      this.stats.set('retained', n);
    });
    this.access = AccessControl.fromConfig(cfg, { onCheck: () => this.metrics.inc(M_CHECK_ACL) });
    this.auth = new Authenticator({ allowAnonymous: cfg.allowAnonymous, users: cfg.usersFile ? loadUsersFile(cfg.usersFile) : [] });
    if (cfg.bannedFile) this.banned.replaceAll(loadBannedFile(cfg.bannedFile));
    this.sys = new SysTopics(this);
    this.presence = new Presence(this);
  }

  get nodeName(): string {
    return this.cfg.nodeName;
  }

  /** Starts every configured listener; returns protocol → bound port. */
  async start(): Promise<Record<string, number>> {
    const c = this.cfg;
    if (c.mqttPort >= 0) this.listeners.push(tcpListener(this, c.bind, c.mqttPort, c.maxConns));
    if (c.wsPort >= 0) this.listeners.push(wsListener(this, c.bind, c.wsPort, c.maxConns, c.wsPath));
    if (c.tlsCert && c.tlsKey && c.mqttsPort >= 0) this.listeners.push(tlsListener(this, c.bind, c.mqttsPort, c.maxConns, c.tlsCert, c.tlsKey));
    const ports: Record<string, number> = {};
    for (const l of this.listeners) {
      ports[l.protocol] = await l.start();
      this.log.info({ listener: l.protocol, address: c.bind, port: l.port }, 'listener started');
    }
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    this.sys.start();
    return ports;
  }

  /** Stops accepting, tells MQTT 5 clients the server is shutting down, closes everything. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweepTimer);
    this.sys.stop();
    this.delayed.stop();
    const closing = this.listeners.map((l) => l.close());
    for (const conn of this.connections) {
      conn.sendDisconnect(RC.SERVER_SHUTTING_DOWN);
      conn.close('shutdown');
    }
    for (const s of this.sessions.values()) clearTimeout(s.expiryTimer);
    for (const w of this.willTimers.values()) clearTimeout(w.timer);
    await Promise.all(closing);
  }

  // ---- publish / subscribe ----

  /** Routes one message to local subscribers and other nodes; returns the number of deliveries. */
  publish(msg: Message): number {
    const m = this.metrics;
    if (!msg.sys) m.inc(M_PUBLISH);
    if (msg.topic.charCodeAt(0) === 36 /* $ */ && !msg.sys) {
      const delayed = this.delayed.take(msg);
      if (delayed === true) {
        detachPayload(msg);
        m.inc(M_DELAYED);
        return 1;
      }
      if (delayed === 'invalid') {
        m.inc(M_DROPPED);
        return 0;
      }
    }
    if (msg.retain && this.cfg.retainAvailable) {
      detachPayload(msg);
      this.retained.set(msg);
      this.cluster.retainedChanged(msg.topic, msg.payload.length > 0 ? msg : undefined);
    }
    const enc = new PublishEncoder(msg.topic, msg.payload);
    const n = this.cluster.hasRemoteRoutes
      ? this.router.dispatch(msg, enc, false) + this.cluster.forward(msg, enc)
      : this.router.dispatch(msg, enc, true);
    if (n === 0 && !msg.sys) {
      m.inc(M_NO_SUBSCRIBERS);
      m.inc(M_DROPPED);
    }
    return n;
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
   * on a client's behalf without.
   */
  subscribe(session: Session, topic: string, opts: SubOptions, conn?: Connection): SubscribeResult {
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
    if (conn && this.access.check(conn, conn.aclCache, 'subscribe', filter) === 'deny') return fail(RC.NOT_AUTHORIZED);
    // the granted QoS is capped by what the server allows [MQTT-3.9.3]
    const qos = (opts.qos > cfg.maxQosAllowed ? cfg.maxQosAllowed : opts.qos) as SubOptions['qos'];
    const stored: SubOptions = { ...opts, qos, share: share ? share.group : undefined };
    session.addSubscription(topic, stored);
    this.router.subscribe(session, filter, stored);
    this.updateSubscriptionStats();
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
    this.updateSubscriptionStats();
    return RC.SUCCESS;
  }

  // ---- sessions ----

  /**
   * Opens the session of a connecting client [MQTT-3.1.2-4..6, MQTT-3.1.4-3]: an existing
   * connection with the same clientid is closed; its session is resumed (clean start 0)
   * or discarded (clean start 1).
   */
  openSession(conn: Connection, clientId: string, cleanStart: boolean, expiryInterval: number): { session: Session; present: boolean } {
    const m = this.metrics;
    let session = this.sessions.get(clientId);
    let present = false;
    if (session) {
      const old = session.conn;
      if (old) {
        old.closeReason = cleanStart ? 'discarded' : 'takeovered';
        old.sendDisconnect(RC.SESSION_TAKEN_OVER);
        session.conn = undefined;
        old.close(old.closeReason);
        if (!cleanStart) m.inc(M_SESSION_TAKEOVERED);
      }
      if (cleanStart) {
        m.inc(M_SESSION_DISCARDED);
        this.terminateSession(session);
        session = undefined;
      } else {
        present = true;
        clearTimeout(session.expiryTimer);
        session.expiryTimer = undefined;
        this.cancelWill(session);
        m.inc(M_SESSION_RESUMED);
      }
    }
    if (!session) {
      session = new Session(clientId, this);
      this.sessions.set(clientId, session);
      m.inc(M_SESSION_CREATED);
      this.stats.set('sessions', this.sessions.size);
      this.stats.set('channels', this.sessions.size);
    }
    session.cleanStart = cleanStart;
    session.expiryInterval = expiryInterval;
    session.conn = conn;
    conn.session = session;
    return { session, present };
  }

  /**
   * Opens a session the cluster way: the clientid is claimed in the registry first, and a
   * session another node holds is taken over (and, with clean start 0, moved here).
   */
  async openClusterSession(conn: Connection, clientId: string, cleanStart: boolean, expiryInterval: number): Promise<{ session: Session; present: boolean }> {
    const transfer = await this.cluster.claimSession(clientId, !cleanStart);
    if (conn.state === ConnState.Closed) {
      // the client left while we waited: nothing is opened; a claim without a session is released
      if (!this.sessions.has(clientId)) this.cluster.sessionEnded(clientId);
      throw new Error('connection closed during CONNECT');
    }
    const opened = this.openSession(conn, clientId, cleanStart, expiryInterval);
    if (transfer && !opened.present && !cleanStart) {
      importSession(this, opened.session, transfer);
      return { session: opened.session, present: true };
    }
    return opened;
  }

  /** A CONNECT was accepted. */
  clientConnected(conn: Connection): void {
    this.connections.add(conn);
    this.connectedCount++;
    this.stats.set('connections', this.connectedCount);
    this.presence.connected(conn);
  }

  /** Every connection ends here, once, whatever closed it. */
  connectionClosed(conn: Connection, reason: ShutdownReason, wasConnected: boolean): void {
    conn.listener.closed(conn, reason);
    if (!wasConnected) return;
    this.connections.delete(conn);
    this.connectedCount--;
    this.stats.set('connections', this.connectedCount);
    this.metrics.inc(M_DISCONNECTED);
    const info = conn.info!;
    const session = conn.session!;
    this.presence.disconnected(conn, reason);
    const owns = session.conn === conn;
    if (owns) {
      session.conn = undefined;
      session.lastConn = conn;
      session.disconnectedAt = Date.now();
    }
    if (info.will) this.scheduleWill(session, info.will, info.willDelay, info.willExpiry, owns);
    if (!owns) return; // taken over: the session lives on with its new connection
    if (session.expiryInterval === 0 || this.stopping) {
      this.terminateSession(session);
    } else if (session.expiryInterval !== NEVER_EXPIRES) {
      session.expiryTimer = setTimeout(() => this.terminateSession(session), session.expiryInterval * 1000);
      session.expiryTimer.unref();
    }
  }

  /**
   * Publishes a will now, or after its MQTT 5 delay unless the session is resumed first;
   * the session ending publishes it at once [MQTT-3.1.3-9, MQTT-3.1.2-8].
   */
  private scheduleWill(session: Session, will: Message, delay: number, expiry: number | undefined, sessionContinues: boolean): void {
    const fire = (): void => {
      this.willTimers.delete(session);
      const now = Date.now();
      this.publish({ ...will, timestamp: now, expiresAt: expiry === undefined ? undefined : now + expiry * 1000 });
    };
    if (delay > 0 && sessionContinues && session.expiryInterval > 0 && !this.stopping) {
      const timer = setTimeout(fire, Math.min(delay, session.expiryInterval) * 1000);
      timer.unref();
      this.willTimers.set(session, { timer, fire });
    } else {
      fire();
    }
  }

  private cancelWill(session: Session): void {
    const w = this.willTimers.get(session);
    if (w) {
      clearTimeout(w.timer);
      this.willTimers.delete(session);
    }
  }

  /** Ends a session: its subscriptions go, a pending delayed will is published. */
  terminateSession(session: Session): void {
    if (this.sessions.get(session.clientId) !== session) return;
    clearTimeout(session.expiryTimer);
    const will = this.willTimers.get(session);
    if (will) {
      clearTimeout(will.timer);
      will.fire();
    }
    for (const [topic, opts] of session.subscriptions) {
      const share = parseShare(topic);
      this.router.unsubscribe(session.clientId, share ? share.filter : topic, opts.share);
    }
    session.subscriptions.clear();
    this.sessions.delete(session.clientId);
    this.cluster.sessionEnded(session.clientId);
    this.metrics.inc(M_SESSION_TERMINATED);
    this.stats.set('sessions', this.sessions.size);
    this.stats.set('channels', this.sessions.size);
    this.updateSubscriptionStats();
  }

  /**
   * The session moved to (or was discarded by) a connection on another node: our
   * connection is told and closed, and the session ends here [MQTT-3.1.4-3].
   */
  handOver(session: Session, transferred: boolean): void {
    const conn = session.conn;
    if (conn) {
      conn.closeReason = transferred ? 'takeovered' : 'discarded';
      conn.sendDisconnect(RC.SESSION_TAKEN_OVER);
      session.conn = undefined;
      conn.close(conn.closeReason);
    }
    this.metrics.inc(transferred ? M_SESSION_TAKEOVERED : M_SESSION_DISCARDED);
    this.terminateSession(session);
  }

  /** Kicks a client off this node (DELETE /api/v4/clients/{clientid}); false when it is not here. */
  kick(clientId: string): boolean {
    const session = this.sessions.get(clientId);
    if (!session) return false;
    const conn = session.conn;
    if (conn) {
      conn.closeReason = 'kicked';
      conn.sendDisconnect(RC.ADMINISTRATIVE_ACTION);
      conn.close('kicked');
    }
    // EMQX's kick ends the session too, persistent or not
    this.terminateSession(session);
    return true;
  }

  private updateSubscriptionStats(): void {
    const r = this.router;
    this.stats.set('subscriptions', r.subscriptionCount);
    this.stats.set('suboptions', r.subscriptionCount);
    this.stats.set('subscriptions.shared', r.sharedSubscriptionCount);
    this.stats.set('subscribers', r.subscriptionCount - r.sharedSubscriptionCount);
    this.stats.set('topics', r.filterCount);
    this.stats.set('routes', r.filterCount);
  }

  // ---- timers ----

  /**
   * Once a second: keepalive [MQTT-3.1.2-24], CONNECT idle timeout, MQTT 3.x retries and
   * QoS 2 await-rel expiry, in one pass instead of a timer per connection.
   */
  private sweep(): void {
    const now = Date.now();
    const cfg = this.cfg;
    for (const conn of this.connections) {
      const info = conn.info!;
      if (info.keepalive > 0 && now - conn.lastRecv > info.keepalive * 1000 * cfg.keepaliveBackoff) {
        conn.sendDisconnect(RC.KEEP_ALIVE_TIMEOUT);
        conn.close('keepalive_timeout');
        continue;
      }
      const s = conn.session!;
      if (cfg.retryIntervalMs > 0 && conn.version < 5 && s.inflight.size > 0) s.retry(now, cfg.retryIntervalMs);
      if (s.awaitingRel.size > 0) {
        for (const [id, at] of s.awaitingRel) if (now - at > cfg.awaitRelTimeoutMs) s.awaitingRel.delete(id);
      }
    }
    for (const l of this.listeners) {
      for (const conn of l.unconnected) if (now - conn.openedAt > cfg.idleTimeoutMs) conn.close('idle_timeout');
    }
  }

  /** Sends a broker-originated message ($SYS, presence). */
  publishSys(topic: string, payload: string, retain = false): void {
    this.publish(newMessage({ topic, payload: Buffer.from(payload), qos: 0, retain, from: this.nodeName, sys: true }));
  }
}
