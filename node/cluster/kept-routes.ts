import type { Logger } from '../../shared/logger.js';
import type { Membership } from './membership.js';
import type { RouteSync } from './route-sync.js';
import type { ClusterRoutes } from './routes.js';
import type { UnreachableForwards } from './unreachable-forwards.js';

/** a dead node's routes are kept at most this long (until its sessions are owned elsewhere) */
const KEEP_DEAD_MAX_MS = 3_600_000;
/** and this long after that: the new owners' routes arrive meanwhile */
const KEEP_AFTER_ADOPTION_MS = 2_000;
/** a node whose routes are kept, alive again this long, has its sessions (it hung; or it took them back) */
const KEEP_LIVE_AGAIN_MS = 10_000;

/**
 * How long a dead node's routes are kept (routes.ts keepDeadMs; docs/forwarding.md, "Kept
 * routes"): every heartbeat, a node whose stored sessions are all adopted, resumed elsewhere
 * or taken back by a run started again under its name has its kept routes released, and so
 * does one alive again for a while (it hung and came back: its sessions are its own); an
 * hour at most. A node alive again has its own routes read back when they end.
 */
export class KeptRoutes {
  private timer: NodeJS.Timeout | undefined;
  private readonly liveSince = new Map<string, number>();
  private checking = false;

  constructor(
    private readonly routes: ClusterRoutes,
    private readonly membership: Membership,
    private readonly routeSync: RouteSync,
    private readonly unreachable: UnreachableForwards,
    private readonly log: Logger,
  ) {}

  start(heartbeatMs: number): void {
    this.routes.keepDeadMs = KEEP_DEAD_MAX_MS;
    // (a kept filter may be one of its routes again)
    this.routes.keptEnded = (n) => {
      if (!this.membership.isLive(n)) return false;
      void this.routeSync.reload();
      return true;
    };
    this.timer = setInterval(() => this.check(), heartbeatMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const kept = this.routes.keptNodes();
    if (this.checking || kept.length === 0) return;
    this.checking = true;
    void (async () => {
      const now = Date.now();
      for (const [n, since] of kept) {
        if (this.membership.isLive(n)) this.liveSince.set(n, this.liveSince.get(n) ?? now);
        else this.liveSince.delete(n);
        const back = now - (this.liveSince.get(n) ?? now) > KEEP_LIVE_AGAIN_MS;
        if (back || !(await this.unreachable.owns(n, since))) {
          this.liveSince.delete(n);
          this.routes.releaseKept(n, KEEP_AFTER_ADOPTION_MS);
        }
      }
    })()
      .catch((err: Error) => this.log.debug({ err: err.message }, 'kept routes check failed'))
      .finally(() => (this.checking = false));
  }
}
