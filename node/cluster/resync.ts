import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { ClusterStore } from '../../shared/cluster/store.js';
import type { Broker } from '../broker.js';
import type { ClientConflicts } from './conflicts.js';
import type { Membership } from './membership.js';
import type { RetainedSync } from './retained-sync.js';
import type { RouteSync } from './route-sync.js';

/**
 * After the store comes back, or purged this node as dead while it ran (a stall past the
 * heartbeat TTL): notifications may have been missed and writes failed or were undone, so
 * this node's routes, registrations and retained changes are written again and the route
 * table and retained replica reloaded; a clientid registered meanwhile on another node is
 * settled with it (conflicts.ts).
 */
export class StoreResync {
  private stopped = false;

  constructor(
    private readonly b: Broker,
    private readonly store: ClusterStore,
    private readonly membership: Membership,
    private readonly routes: RouteSync,
    private readonly retained: RetainedSync,
    private readonly conflicts: ClientConflicts,
    private readonly cfg: Config,
    private readonly log: Logger,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  async run(what: string): Promise<void> {
    if (this.stopped) return;
    try {
      await this.membership.heartbeat();
      await this.routes.restore(this.b.router.routeKeys(), this.b.router.sharedMemberCounts());
      const ids = [...this.b.sessions.keys()];
      const elsewhere = await this.store.registerClients(ids, this.b.nodeName);
      this.conflicts.noConflict(ids, elsewhere);
      await this.retained.restore();
      // The table is reloaded whole only after the other nodes had time to write their
      // routes again too (a store that restarted empty has none of theirs yet); until
      // then the known routes stay and notifications keep them current.
      setTimeout(() => void this.routes.reload(), 2 * this.cfg.heartbeatMs).unref();
      this.log.info({ sessions: this.b.sessions.size, conflicts: elsewhere.length }, `${what}: routes and registrations restored`);
      // clientids also live on another node (both connected while the store was away)
      if (elsewhere.length > 0) await this.conflicts.resolve(elsewhere);
    } catch (err) {
      // With the store up again (a command timeout on a busy store or a late event loop, not
      // an outage) no reconnect would come to retry it: this node's routes and
      // registrations would stay missing.
      const retry = this.store.connected;
      this.log.warn({ err: (err as Error).message }, `${what}: resync failed; retrying ${retry ? 'in a heartbeat' : 'at the next reconnect'}`);
      if (retry) setTimeout(() => void this.run(what), this.cfg.heartbeatMs).unref();
    }
  }
}
