import type { Config } from '../../shared/config.js';
import type { Message } from '../../shared/message.js';
import { parseShare } from '../../shared/topic.js';
import type { ClientInfo, Hooks } from '../core/hooks.js';
import { ConnState, type ClusterHooks, type SessionHost } from '../core/ports.js';
import { importSession, type SessionImportHost } from '../cluster/session-transfer.js';
import { metricIndex } from '../metrics/metrics.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Stats } from '../metrics/stats.js';
import type { Connection } from '../protocol/connection.js';
import { RC, type ShutdownReason } from '../protocol/reason-codes.js';
import type { Router } from '../router/router.js';
import { MoveDedup } from './move-dedup.js';
import { Session } from './session.js';
import { LongTimer } from '../core/long-timer.js';
import type { DurableSessions, LoadedSession } from './durable/durable-sessions.js';
import { storedWillMessage } from './durable/record.js';
import type { Logger } from '../../shared/logger.js';
import { attachJournal, restoreSession, storedWill } from './durable-state.js';

const M_DISCONNECTED = metricIndex('client.disconnected');
const M_SESSION_CREATED = metricIndex('session.created');
const M_SESSION_RESUMED = metricIndex('session.resumed');
const M_SESSION_TAKEOVERED = metricIndex('session.takeovered');
const M_SESSION_DISCARDED = metricIndex('session.discarded');
const M_SESSION_TERMINATED = metricIndex('session.terminated');

const NEVER_EXPIRES = 0xffffffff;

/** What the session registry needs of its node. */
export interface RegistryHost extends SessionHost, SessionImportHost {
  readonly cfg: Config;
  readonly metrics: Metrics;
  readonly stats: Stats;
  readonly hooks: Hooks;
  readonly router: Router;
  /** read at each use: the cluster layer is attached after the broker is built */
  readonly cluster: ClusterHooks;
  readonly stopping: boolean;
  readonly nodeName: string;
  readonly log: Logger;
  /** durable sessions, when on */
  readonly durable: DurableSessions | undefined;
  /** publishes a will */
  publish(msg: Message): unknown;
  /** subscriptions were removed (stats follow) */
  subscriptionsChanged(): void;
}

/** A client's identity for the client.* hooks, read off its connection. */
function clientInfo(conn: Connection, expiryInterval: number): ClientInfo {
  const i = conn.info!;
  return {
    clientid: i.clientId,
    username: i.username,
    peerhost: conn.peerHost,
    peerport: conn.peerPort,
    sockport: conn.listener.port,
    protoName: i.protoName,
    protoVer: conn.version,
    keepalive: i.keepalive,
    cleanStart: i.cleanStart,
    expiryInterval,
    connectedAt: i.connectedAt,
    isBridge: i.isBridge,
  };
}

/**
 * The node's sessions and connected clients, and their lifecycle: open, resume, takeover,
 * discard, kick, hand-over to another node, wills (with their MQTT 5 delay) and session
 * expiry.
 */
export class SessionRegistry {
  private readonly map = new Map<string, Session>();
  private readonly conns = new Set<Connection>();
  /** delayed wills by session, with the function that publishes each */
  private readonly willTimers = new Map<Session, { timer: LongTimer; fire: () => void }>();

  constructor(private readonly host: RegistryHost) {}

  /** sessions by clientid (a read view: the registry alone changes it) */
  get sessions(): ReadonlyMap<string, Session> {
    return this.map;
  }

  /** connections that completed CONNECT */
  get connections(): ReadonlySet<Connection> {
    return this.conns;
  }

  /**
   * Opens the session of a connecting client [MQTT-3.1.2-4..6, MQTT-3.1.4-3]: an existing
   * connection with the same clientid is closed; its session is resumed (clean start 0)
   * or discarded (clean start 1).
   */
  openSession(conn: Connection, clientId: string, cleanStart: boolean, expiryInterval: number): { session: Session; present: boolean } {
    const m = this.host.metrics;
    let session = this.map.get(clientId);
    let present = false;
    if (session) {
      if (session.conn) {
        this.closeTaken(session, session.conn, cleanStart ? 'discarded' : 'takeovered');
        if (!cleanStart) m.inc(M_SESSION_TAKEOVERED);
      }
      if (cleanStart) {
        m.inc(M_SESSION_DISCARDED);
        this.terminateSession(session, 'discarded');
        session = undefined;
      } else {
        present = true;
        session.expiryTimer?.cancel();
        session.expiryTimer = undefined;
        this.cancelWill(session);
        m.inc(M_SESSION_RESUMED);
      }
    }
    if (!session) {
      session = new Session(clientId, this.host);
      this.map.set(clientId, session);
      m.inc(M_SESSION_CREATED);
      this.sessionCountChanged();
    }
    // a new session starts as clean (Session's default); a resumed one may have been clean
    if (session.cleanStart !== cleanStart) this.host.stats.persistentChanged(cleanStart ? -1 : 1);
    session.cleanStart = cleanStart;
    session.expiryInterval = expiryInterval;
    session.conn = conn;
    conn.session = session;
    return { session, present };
  }

  /** Discards, in the background, a stored session a clean start ends (not the incarnation a session here writes by then). */
  private discardStored(durable: DurableSessions, clientId: string): void {
    durable.load(clientId, false).then(
      (loaded) => {
        if (loaded !== undefined && loaded.entry.record.gen !== this.map.get(clientId)?.journal?.gen) durable.discardLoaded(loaded);
      },
      (err: Error) => this.host.log.debug({ clientid: clientId, err: err.message }, 'stored session of a clean start not discarded'),
    );
  }

  /**
   * Opens a session the cluster way: the clientid is claimed in the registry first, and a
   * session another node holds is taken over (and, with clean start 0, moved here).
   */
  async openClusterSession(conn: Connection, clientId: string, cleanStart: boolean, expiryInterval: number): Promise<{ session: Session; present: boolean }> {
    const host = this.host;
    const cluster = host.cluster;
    let transfer = await cluster.claimSession(clientId, !cleanStart);
    const durable = host.durable;
    let loaded: LoadedSession | undefined;
    // a session whose node died lives on in the store; a clean start discards it without
    // waiting: its CONNACK owes the store nothing, and a store whose JetStream leader was just
    // lost answers only after its request timeout, longer than clients wait for a CONNACK
    if (durable !== undefined && cleanStart && !this.map.has(clientId)) this.discardStored(durable, clientId);
    for (let attempt = 1; durable !== undefined && !cleanStart && !this.map.has(clientId); attempt++) {
      try {
        loaded = await durable.load(clientId, transfer === null && !cleanStart);
        // no takeover (the registry may be away or have restarted empty): the node the store names is asked to hand it over
        const holder = loaded?.entry.record.node;
        if (transfer === null && holder !== undefined && holder !== host.nodeName) transfer = await cluster.claimSession(clientId, true, holder);
        // claimed for this node; when a survivor adopted it meanwhile, it is taken over from there
        if (loaded === undefined || cleanStart || transfer !== null || attempt === 3 || (await durable.claim(loaded, host.nodeName, true))) break;
      } catch (err) {
        host.log.warn({ clientid: clientId, err: (err as Error).message }, 'durable session store unavailable at CONNECT');
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
      transfer = await cluster.claimSession(clientId, true);
    }
    if (conn.state === ConnState.Closed) {
      // the client left while we waited: nothing is opened; a claim without a session is released
      if (!this.map.has(clientId)) cluster.sessionEnded(clientId);
      throw new Error('connection closed during CONNECT');
    }
    const opened = this.openSession(conn, clientId, cleanStart, expiryInterval);
    const s = opened.session;
    // no takeover possible (NATS or Redis away): a session another node holds is settled with
    // this one when they return, and what it owes comes here then, once each (conflicts.ts)
    if (!cleanStart && transfer === null && !opened.present && !cluster.reachable) s.moveDedup = new MoveDedup(Infinity, [], true);
    if (durable === undefined) {
      if (transfer && !opened.present && !cleanStart) {
        importSession(host, s, transfer);
        return { session: s, present: true };
      }
      return opened;
    }
    if (loaded !== undefined && !cleanStart && !opened.present && transfer === null) {
      restoreSession(host, durable, s, loaded, host.nodeName);
      host.log.info({ clientid: clientId, from: loaded.entry.record.node, messages: loaded.messages.length, subscriptions: loaded.entry.record.subscriptions.length }, 'durable session resumed');
      return { session: s, present: true };
    }
    // (not the incarnation a session here continues: one this node adopted while the client connected)
    if (loaded !== undefined && loaded.entry.record.gen !== s.journal?.gen) durable.discardLoaded(loaded);
    // a new incarnation in the store: a transferred session's messages are stored again under it
    if (s.journal === undefined && expiryInterval > 0) attachJournal(durable, s, host.nodeName);
    if (transfer && !opened.present && !cleanStart) {
      importSession(host, s, transfer);
      return { session: s, present: true };
    }
    return opened;
  }

  /**
   * Takes on, offline, a persistent session whose node died and whose client has not come
   * back (the expiry sweep claimed its record for this node): its subscriptions route here,
   * messages queue for it, its expiry and delayed will run here; its client connecting
   * anywhere takes it over as from any live node.
   */
  async adoptSession(clientId: string, deadNode: string): Promise<void> {
    const host = this.host;
    const durable = host.durable;
    if (durable === undefined || this.map.has(clientId)) return;
    if (!(await host.cluster.adoptRegistration(clientId, deadNode))) return;
    const loaded = await durable.load(clientId, true);
    if (loaded === undefined || loaded.entry.record.node !== host.nodeName || this.map.has(clientId)) return;
    const r = loaded.entry.record;
    const s = new Session(clientId, host);
    this.map.set(clientId, s);
    host.metrics.inc(M_SESSION_CREATED);
    this.sessionCountChanged();
    s.cleanStart = false;
    host.stats.persistentChanged(1);
    s.expiryInterval = r.expiryInterval;
    s.disconnectedAt = r.disconnectedAt;
    s.storedWill = r.will;
    restoreSession(host, durable, s, loaded, host.nodeName);
    const now = Date.now();
    if (r.expiryInterval !== NEVER_EXPIRES) s.expiryTimer = new LongTimer(() => this.terminateSession(s, 'expired'), Math.max(0, r.disconnectedAt + r.expiryInterval * 1000 - now));
    if (r.will) {
      const fire = (): void => {
        this.willTimers.delete(s);
        const will = storedWillMessage(r, Date.now());
        s.storedWill = undefined;
        s.journal?.changed();
        if (will) host.publish(will);
      };
      this.willTimers.set(s, { timer: new LongTimer(fire, Math.max(0, r.disconnectedAt + r.will.delay * 1000 - now)), fire });
    }
    host.log.info({ clientid: clientId, from: deadNode, messages: loaded.messages.length }, 'durable session adopted: its node is gone');
  }

  /** A CONNECT was accepted. */
  clientConnected(conn: Connection): void {
    this.conns.add(conn);
    this.host.stats.set('connections', this.conns.size);
    const s = conn.session as Session;
    if (s.journal !== undefined) {
      const i = conn.info!;
      s.storedWill = i.will ? storedWill(i.will, i.willDelay, i.willExpiry) : undefined;
      s.journal.changed();
    }
    const h = this.host.hooks.clientConnected;
    if (h.active) h.emit({ client: clientInfo(conn, conn.session!.expiryInterval) });
  }

  /** Every connection ends here, once, whatever closed it. */
  connectionClosed(conn: Connection, reason: ShutdownReason, wasConnected: boolean): void {
    conn.listener.closed(conn, reason);
    if (!wasConnected) return;
    const host = this.host;
    this.conns.delete(conn);
    host.stats.set('connections', this.conns.size);
    host.metrics.inc(M_DISCONNECTED);
    const info = conn.info!;
    // openSession gave every connected connection its session (the connection sees it through a port)
    const session = conn.session as Session;
    const h = host.hooks.clientDisconnected;
    if (h.active) h.emit({ client: clientInfo(conn, session.expiryInterval), reason, disconnectedAt: Date.now() });
    const owns = session.conn === conn;
    if (owns) {
      session.conn = undefined;
      session.lastConn = conn;
      session.disconnectedAt = Date.now();
    }
    if (info.will) this.scheduleWill(session, info.will, info.willDelay, info.willExpiry, owns);
    if (!owns) return; // taken over: the session lives on with its new connection
    if (session.journal !== undefined) {
      if (!this.willTimers.has(session)) session.storedWill = undefined;
      if (!host.stopping) session.journal.changed();
    }
    if (session.expiryInterval === 0 || host.stopping) {
      this.terminateSession(session, reason);
    } else if (session.expiryInterval !== NEVER_EXPIRES) {
      session.expiryTimer = new LongTimer(() => this.terminateSession(session, 'expired'), session.expiryInterval * 1000);
    }
  }

  /**
   * Publishes a will now, or after its MQTT 5 delay unless the session is resumed first;
   * the session ending publishes it at once [MQTT-3.1.3-9, MQTT-3.1.2-8].
   */
  private scheduleWill(session: Session, will: Message, delay: number, expiry: number | undefined, sessionContinues: boolean): void {
    const fire = (): void => {
      this.willTimers.delete(session);
      if (session.storedWill !== undefined) {
        session.storedWill = undefined;
        session.journal?.changed();
      }
      const now = Date.now();
      this.host.publish({ ...will, timestamp: now, expiresAt: expiry === undefined ? undefined : now + expiry * 1000 });
    };
    if (delay > 0 && sessionContinues && session.expiryInterval > 0 && !this.host.stopping) {
      const timer = new LongTimer(fire, Math.min(delay, session.expiryInterval) * 1000);
      this.willTimers.set(session, { timer, fire });
    } else {
      fire();
    }
  }

  private cancelWill(session: Session): void {
    const w = this.willTimers.get(session);
    if (w) {
      w.timer.cancel();
      this.willTimers.delete(session);
    }
    session.storedWill = undefined;
  }

  /** Ends a session: its subscriptions go, a pending delayed will is published. */
  terminateSession(session: Session, reason: string): void {
    if (this.map.get(session.clientId) !== session) return;
    const host = this.host;
    session.expiryTimer?.cancel();
    const will = this.willTimers.get(session);
    if (will) {
      will.timer.cancel();
      will.fire();
    }
    for (const [topic, opts] of session.subscriptions) {
      const share = parseShare(topic);
      host.router.unsubscribe(session.clientId, share ? share.filter : topic, opts.share);
    }
    session.subscriptions.clear();
    this.map.delete(session.clientId);
    const j = session.journal;
    if (j !== undefined) {
      session.journal = undefined;
      // moved to another node, which stores it under its own incarnation; or the node stops and
      // the session lives on in the store for a resume elsewhere
      if (reason === 'takeovered' || host.stopping) j.detached = true;
      else host.durable?.discard(j);
    }
    if (!session.cleanStart) host.stats.persistentChanged(-1);
    host.cluster.sessionEnded(session.clientId);
    host.metrics.inc(M_SESSION_TERMINATED);
    this.sessionCountChanged();
    host.subscriptionsChanged();
    const h = host.hooks.sessionTerminated;
    if (h.active) h.emit({ clientid: session.clientId, username: (session.conn ?? session.lastConn)?.info?.username, reason });
  }

  /**
   * The session moved to (or was discarded by) a connection on another node: our
   * connection is told and closed, and the session ends here [MQTT-3.1.4-3].
   */
  handOver(session: Session, transferred: boolean): void {
    if (session.conn) this.closeTaken(session, session.conn, transferred ? 'takeovered' : 'discarded');
    this.host.metrics.inc(transferred ? M_SESSION_TAKEOVERED : M_SESSION_DISCARDED);
    this.terminateSession(session, transferred ? 'takeovered' : 'discarded');
  }

  /** A newer connection took the session (or discarded it): the old one is told and closed. */
  private closeTaken(session: Session, conn: Connection, reason: 'takeovered' | 'discarded'): void {
    conn.closeReason = reason;
    conn.sendDisconnect(RC.SESSION_TAKEN_OVER);
    session.conn = undefined;
    conn.close(reason);
  }

  /** Kicks a client off this node (DELETE /api/v4/clients/{clientid}); false when it is not here. */
  kick(clientId: string): boolean {
    const session = this.map.get(clientId);
    if (!session) return false;
    const conn = session.conn;
    if (conn) {
      conn.closeReason = 'kicked';
      conn.sendDisconnect(RC.ADMINISTRATIVE_ACTION);
      conn.close('kicked');
    }
    // EMQX's kick ends the session too, persistent or not
    this.terminateSession(session, 'kicked');
    return true;
  }

  /** Shutdown: MQTT 5 clients are told the server is going away, every connection closes, timers stop. */
  stop(): void {
    for (const conn of this.conns) {
      conn.sendDisconnect(RC.SERVER_SHUTTING_DOWN);
      conn.close('shutdown');
    }
    for (const s of this.map.values()) s.expiryTimer?.cancel();
    for (const w of this.willTimers.values()) w.timer.cancel();
  }

  private sessionCountChanged(): void {
    this.host.stats.set('sessions', this.map.size);
    this.host.stats.set('channels', this.map.size);
  }
}
