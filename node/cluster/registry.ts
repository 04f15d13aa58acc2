import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { ClusterStore, RegistryTable } from '../../shared/cluster/store.js';
import type { SessionTransfer } from '../../shared/api/session.js';
import type { Broker } from '../broker.js';
import type { ClientConflicts } from './conflicts.js';
import type { Transport } from './forwarding/transport.js';
import type { Membership } from './membership.js';
import type { MovedSessions } from './moved-sessions.js';
import { exportSession } from './session-transfer.js';

/**
 * The cluster-wide clientid registry and takeover: a client connecting here is registered
 * in the store, and the live node that had it gives its session up (with its state when
 * asked) over RPC.
 */
export class ClientRegistry {
  private stopped = false;
  /** clientids whose registration at CONNECT failed, written again at the next heartbeat */
  private readonly unregistered = new Set<string>();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly b: Broker,
    private readonly store: RegistryTable & Pick<ClusterStore, 'connected'>,
    private readonly transport: Transport,
    private readonly membership: Membership,
    private readonly moved: MovedSessions,
    private readonly conflicts: ClientConflicts,
    private readonly cfg: Config,
    private readonly log: Logger,
  ) {}

  private get self(): string {
    return this.b.nodeName;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  async claimSession(clientid: string, transfer: boolean, holder?: string): Promise<SessionTransfer | null> {
    try {
      // `holder`: the node the durable store names, asked without the registry (which gave no
      // takeover: away, or restarted empty), rather than a stored copy resumed beside the
      // session it still holds (two sessions, one owed what the other got, QoS 2 sent twice)
      return await (holder === undefined ? this.claim(clientid, transfer) : this.takeOver(holder, clientid, transfer));
    } finally {
      // the session opens here (again) now: nothing is sent on from here to where it was
      this.moved.forget(clientid);
    }
  }

  private async claim(clientid: string, transfer: boolean): Promise<SessionTransfer | null> {
    let prev: string | undefined;
    try {
      prev = await this.store.registerClient(clientid, this.self);
    } catch (err) {
      // the store is away or slow: decide locally, register later (retryRegistrations)
      this.log.debug({ clientid, err: (err as Error).message }, 'registry unavailable at CONNECT');
      this.unregistered.add(clientid);
      this.scheduleRetry();
      return null;
    }
    return this.takeOver(prev, clientid, transfer);
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => void this.retryRegistrations(), this.cfg.heartbeatMs);
    this.retryTimer.unref();
  }

  /**
   * Writes the registrations that failed at CONNECT. A store reconnect writes every
   * session's (resync.ts), but a command that timed out on a connection that stayed up (a
   * busy Redis) brings no reconnect: the clientid would stay unregistered, and a CONNECT
   * elsewhere would not take it over. One registered on another live node meanwhile is
   * live on two nodes, settled as after an outage (conflicts.ts). While the store is
   * away, the reconnect's resync does it.
   */
  private async retryRegistrations(): Promise<void> {
    this.retryTimer = undefined;
    if (this.stopped) return;
    if (!this.store.connected) return void this.unregistered.clear();
    // a session that ended meanwhile needs no registration
    const ids = [...this.unregistered].filter((id) => this.b.sessions.has(id));
    this.unregistered.clear();
    if (ids.length === 0) return;
    let elsewhere: { clientid: string; prev: string }[];
    try {
      elsewhere = await this.store.registerClients(ids, this.self);
    } catch (err) {
      this.log.warn({ clients: ids.length, err: (err as Error).message }, 'registering clients again failed; retrying in a heartbeat');
      for (const id of ids) this.unregistered.add(id);
      return this.scheduleRetry();
    }
    this.log.info({ clients: ids.length, conflicts: elsewhere.length }, 'registrations that failed at CONNECT written');
    await this.conflicts.resolve(elsewhere.filter((c) => this.membership.isLive(c.prev)));
  }

  /** Takes the session over from `prev` when that is another live node. */
  private async takeOver(prev: string | undefined, clientid: string, transfer: boolean): Promise<SessionTransfer | null> {
    if (prev === undefined || prev === this.self || !this.membership.isLive(prev)) return null;
    try {
      return await this.transport.request(prev, 'session.takeover', { clientid, transfer, toNode: this.self }, this.cfg.rpcTimeoutMs);
    } catch (err) {
      this.log.warn({ clientid, from: prev, err: (err as Error).message }, 'session takeover failed; starting a new session');
      return null;
    }
  }

  /**
   * Another node took this clientid: our connection is closed and the session ends here (its
   * state goes along when asked, and what still comes here for it follows: moved-sessions.ts).
   */
  giveUpSession(clientid: string, transfer: boolean, toNode: string): SessionTransfer | null {
    const s = this.b.sessions.get(clientid);
    if (!s) return null;
    const out = transfer ? exportSession(s) : null;
    if (out !== null && toNode !== this.self) {
      const filters: string[] = [];
      for (const [topic, o] of s.subscriptions) if (o.share === undefined) filters.push(topic);
      this.moved.add(clientid, toNode, filters);
    }
    this.b.handOver(s, transfer);
    return out;
  }

  async adoptRegistration(clientid: string, deadNode: string): Promise<boolean> {
    const prev = await this.store.registerClient(clientid, this.self);
    if (prev === undefined || prev === this.self || prev === deadNode || !this.membership.isLive(prev)) return true;
    // its client is back on a live node: the registry stays as it was
    await this.store.registerClient(clientid, prev);
    return false;
  }

  sessionEnded(clientid: string): void {
    if (this.stopped) return;
    this.store.unregisterClient(clientid, this.self).catch(() => {});
  }
}
