import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { MembershipTable } from '../../shared/cluster/store.js';
import type { ClusterRoutes } from './routes.js';

/** What membership tells the rest of the cluster layer. */
export interface MembershipEvents {
  /**
   * This node's record was gone from the store at a heartbeat: another node took it for
   * dead (a stall longer than the TTL) and purged its routes and registrations, which must
   * be written again or its subscribers get nothing from the other nodes.
   */
  purged(): void;
  /** A node this one had dropped as dead heartbeats again: its routes are read back from the store. */
  returned(node: string): void;
}

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
  /** other nodes dropped as dead (their routes removed here), until they heartbeat again */
  private readonly dropped = new Set<string>();
  /** the first tick's heartbeat finds the record cluster.start() wrote: only later ones tell a purge */
  private ticked = false;
  events: MembershipEvents | undefined = undefined;

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

  heartbeat(): Promise<boolean> {
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
      const absent = await this.heartbeat();
      if (absent && this.ticked) {
        this.log.warn('this node was purged as dead (its heartbeats came late): writing its routes and registrations again');
        this.events?.purged();
      }
      this.ticked = true;
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
          // only while its record is the one read here: restarted meanwhile, it keeps its new routes
          if (!(await this.store.purgeNode(n.name, n))) this.log.info({ node: n.name }, 'a node heartbeat again while it was purged: the purge stopped');
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
      for (const n of this.live) {
        if (live.has(n)) continue;
        this.routes.removeNode(n);
        this.dropped.add(n);
      }
      for (const n of live) {
        if (!this.dropped.delete(n)) continue;
        this.log.info({ node: n }, 'a node taken for dead heartbeats again: reading its routes back');
        this.events?.returned(n);
      }
      this.live = live;
    } catch (err) {
      this.storeOkSince = undefined;
      this.log.debug({ err: (err as Error).message }, 'heartbeat failed');
    }
  }
}
