import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { RegistryTable } from '../../shared/cluster/store.js';
import type { SessionTransfer } from '../../shared/api/session.js';
import type { Broker } from '../broker.js';
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

  constructor(
    private readonly b: Broker,
    private readonly store: RegistryTable,
    private readonly transport: Transport,
    private readonly membership: Membership,
    private readonly moved: MovedSessions,
    private readonly cfg: Config,
    private readonly log: Logger,
  ) {}

  private get self(): string {
    return this.b.nodeName;
  }

  stop(): void {
    this.stopped = true;
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
      // the store is away: decide locally; registrations are written again on reconnect
      this.log.debug({ clientid, err: (err as Error).message }, 'registry unavailable at CONNECT');
      return null;
    }
    return this.takeOver(prev, clientid, transfer);
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
