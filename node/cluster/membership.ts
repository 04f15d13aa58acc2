import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { MembershipTable } from '../../shared/cluster/store.js';
import type { ClusterRoutes } from './routes.js';

/**
 * Cluster membership: this node's heartbeat in the store, the set of other nodes whose
 * heartbeat is fresh, and the purge of dead nodes (one survivor does it).
 */
export class Membership {
  /** other nodes whose heartbeat is fresh */
  private live = new Set<string>();
  /** the last heartbeat seen of each live node */
  private readonly lastHeartbeat = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /**
   * Since when the store has taken every heartbeat of this node (undefined: the last one
   * failed). After an outage (a Redis restart, a Sentinel failover) every other node's
   * record is stale too, through no fault of theirs: for one TTL they keep counting as live
   * and are not purged, so that their routes and registrations are not dropped before they
   * write them again.
   */
  private storeOkSince: number | undefined = -Infinity;

  constructor(
    private readonly store: MembershipTable,
    private readonly routes: ClusterRoutes,
    private readonly self: string,
    private readonly startedAt: number,
    private readonly cfg: Config,
    private readonly log: Logger,
  ) {}

  /** whether another node's heartbeat is fresh */
  isLive(node: string): boolean {
    return this.live.has(node);
  }

  heartbeat(): Promise<void> {
    return this.store.heartbeat({ name: this.self, heartbeatAt: Date.now(), startedAt: this.startedAt }, this.cfg.heartbeatTtlMs);
  }

  /** The first tick, then one every heartbeat interval. */
  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.cfg.heartbeatMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Each heartbeat: renew ours, learn who is alive, purge who is not (one survivor does it). */
  private async tick(): Promise<void> {
    try {
      await this.heartbeat();
      const now = Date.now();
      this.storeOkSince ??= now;
      const storeWasAway = now - this.storeOkSince < this.cfg.heartbeatTtlMs;
      const live = new Set<string>();
      const records = await this.store.nodes();
      for (const n of records) {
        if (n.name === this.self) continue;
        if (now - n.heartbeatAt <= this.cfg.heartbeatTtlMs) {
          live.add(n.name);
          this.lastHeartbeat.set(n.name, n.heartbeatAt);
        } else if (storeWasAway && this.lastHeartbeat.has(n.name)) {
          live.add(n.name);
        } else if (await this.store.claimPurge(n.name, this.self, this.cfg.heartbeatTtlMs)) {
          this.log.warn({ dead: n.name, lastHeartbeat: new Date(n.heartbeatAt).toISOString() }, 'purging a dead node');
          await this.store.purgeNode(n.name);
        }
      }
      // A node missing from a store that restarted empty is alive until its last heartbeat
      // expires (it writes its record again when its own reconnect comes).
      const recorded = new Set(records.map((r) => r.name));
      for (const [n, at] of this.lastHeartbeat) {
        if (live.has(n)) continue;
        if (!recorded.has(n) && (storeWasAway || now - at <= this.cfg.heartbeatTtlMs)) live.add(n);
        else this.lastHeartbeat.delete(n);
      }
      // a node that left loses its routes here even if a deletion notice was missed
      for (const n of this.live) if (!live.has(n)) this.routes.removeNode(n);
      this.live = live;
    } catch (err) {
      this.storeOkSince = undefined;
      this.log.debug({ err: (err as Error).message }, 'heartbeat failed');
    }
  }
}
