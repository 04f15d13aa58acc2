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
  /**
   * Route keys whose removal from the store waits (how many holds each): a session moving
   * to another node keeps this node's routes until the new node's are in the store
   * (moved-sessions.ts), so no other node is left, even for a moment, without a route to it.
   */
  private readonly held = new Map<string, number>();
  /** held keys whose last local subscription went meanwhile: deleted on release */
  private readonly deferred = new Set<string>();

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
    this.deferred.delete(key); // (still in the store: the add is a no-op there)
    this.store.addRoute(this.self, key).catch(() => this.log.debug({ key }, 'route add deferred until the store is back'));
  }

  routeDeleted(key: string): void {
    if (this.held.has(key)) return void this.deferred.add(key);
    this.store.deleteRoute(this.self, key).catch(() => this.log.debug({ key }, 'route delete deferred until the store is back'));
  }

  /** Holds the deletion of these route keys from the store until release(). */
  hold(keys: readonly string[]): void {
    for (const k of keys) this.held.set(k, (this.held.get(k) ?? 0) + 1);
  }

  /** Ends a hold(): a key no hold keeps any more is deleted now if its last subscription went meanwhile. */
  release(keys: readonly string[]): void {
    for (const k of keys) {
      const n = this.held.get(k);
      if (n === undefined) continue;
      if (n > 1) this.held.set(k, n - 1);
      else {
        this.held.delete(k);
        if (this.deferred.delete(k)) this.routeDeleted(k);
      }
    }
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
