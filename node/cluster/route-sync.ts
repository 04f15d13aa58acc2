import type { Logger } from '../../shared/logger.js';
import type { RouteTable } from '../../shared/cluster/store.js';
import type { Membership } from './membership.js';
import type { ClusterRoutes } from './routes.js';

/**
 * The route table shared through the store: this node's route events written to it (the
 * RouterEvents half of ClusterHooks), the other nodes' routes kept current from its change
 * notices, loaded at start and reloaded whole after a reconnect.
 */
export class RouteSync {
  private stopped = false;
  /** shared route key → member count, to write at the end of this I/O turn */
  private readonly pendingMembers = new Map<string, number>();

  constructor(
    private readonly store: RouteTable,
    private readonly routes: ClusterRoutes,
    private readonly membership: Membership,
    private readonly self: string,
    private readonly log: Logger,
  ) {}

  /** Keeps the remote routes current from the store's change notices. */
  listen(): void {
    this.store.onRouteChange((c) => this.routes.apply(c));
  }

  async load(): Promise<void> {
    this.routes.load(await this.store.routes());
  }

  stop(): void {
    this.stopped = true;
  }

  routeAdded(key: string): void {
    this.store.addRoute(this.self, key).catch(() => this.log.debug({ key }, 'route add deferred until the store is back'));
  }

  routeDeleted(key: string): void {
    this.store.deleteRoute(this.self, key).catch(() => this.log.debug({ key }, 'route delete deferred until the store is back'));
  }

  /**
   * A shared group's member count, written once per I/O turn per group: a client
   * resubscribing many members at once (a reconnect) costs one write each, not one per change.
   */
  sharedMembersChanged(key: string, members: number): void {
    if (this.pendingMembers.size === 0) setImmediate(() => this.writeMembers());
    this.pendingMembers.set(key, members);
  }

  private writeMembers(): void {
    for (const [key, n] of this.pendingMembers) {
      this.store.setSharedMembers(this.self, key, n).catch(() => this.log.debug({ key }, 'shared member count deferred until the store is back'));
    }
    this.pendingMembers.clear();
  }

  /**
   * After setRoutes (a reconnect): every group's member count written again, ones included,
   * so that a count that fell while the store was away (or restarted empty) is not left stale.
   */
  async restoreMembers(counts: Map<string, number>): Promise<void> {
    await Promise.all([...counts].map(([key, n]) => this.store.setSharedMembers(this.self, key, n)));
  }

  async reload(): Promise<void> {
    if (this.stopped) return;
    try {
      const stored = await this.store.routes();
      // A live node with no routes in the store has not written them again yet (its own
      // reconnect came later): the routes known of it stay, or messages for its
      // subscribers would meet "no matching subscribers" until it does.
      const written = new Set(stored.map((r) => r.node));
      const pending = this.routes.rows().filter((r) => !written.has(r.node) && this.membership.isLive(r.node));
      this.routes.load(pending.length > 0 ? [...stored, ...pending] : stored);
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'route reload failed; the next reconnect retries');
    }
  }
}
