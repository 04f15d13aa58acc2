import type { Logger } from '../../shared/logger.js';
import type { RouteTable, RouteWrite, StoreConnection } from '../../shared/cluster/store.js';
import type { Membership } from './membership.js';
import type { ClusterRoutes } from './routes.js';

/**
 * How long a batch the store refused while connected (a command timeout: a busy store, or
 * this node's event loop late to read the reply) waits before it is sent again, doubling
 * with each refusal in a row up to RETRY_MAX_MS.
 */
const RETRY_MS = 200;
const RETRY_MAX_MS = 5_000;

/**
 * The route table shared through the store: this node's route events written to it (the
 * RouterEvents half of ClusterHooks), the other nodes' routes kept current from its change
 * notices, loaded at start and reloaded whole after a reconnect.
 *
 * Writes are batched: those of one I/O turn go in one writeRoutes call (one script and one
 * notice to every node, rather than one of each per route), at most `batchMax` a call, one
 * call in flight at a time (the next batch gathers meanwhile, so a burst of subscriptions
 * makes fewer, larger batches and the order of writes is kept).
 */
export class RouteSync {
  private stopped = false;
  /** writes not yet sent, in order; a superseded member count is left as a hole */
  private pending: (RouteWrite | undefined)[] = [];
  /** shared route key → the index in `pending` of its member count */
  private readonly pendingMembers = new Map<string, number>();
  /**
   * Route keys whose removal from the store waits (how many holds each): a session moving
   * to another node keeps this node's routes until the new node's are in the store
   * (moved-sessions.ts), so no other node is left, even for a moment, without a route to it.
   */
  private readonly held = new Map<string, number>();
  /** held keys whose last local subscription went meanwhile: deleted on release */
  private readonly deferred = new Set<string>();
  private scheduled = false;
  private inFlight = false;
  /** batches refused in a row while the store was connected */
  private refused = 0;
  private readonly batchMax: number;

  constructor(
    private readonly store: RouteTable & Pick<StoreConnection, 'connected'>,
    private readonly routes: ClusterRoutes,
    private readonly membership: Membership,
    private readonly self: string,
    batchMax: number,
    private readonly log: Logger,
  ) {
    // a batch is one script call's arguments (3 a write): bounded below the call stack's limit
    this.batchMax = Math.min(Math.max(1, batchMax), 10_000);
  }

  /** Keeps the remote routes current from the store's change notices. */
  listen(): void {
    this.store.onRouteChanges((changes) => this.routes.applyAll(changes));
  }

  async load(): Promise<void> {
    this.routes.load(await this.store.routes());
  }

  stop(): void {
    this.stopped = true;
  }

  routeAdded(key: string): void {
    this.deferred.delete(key); // (still in the store: the add is a no-op there)
    this.queue({ op: 'add', filter: key });
  }

  routeDeleted(key: string): void {
    if (this.held.has(key)) return void this.deferred.add(key);
    this.queue({ op: 'delete', filter: key });
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
   * A shared group's member count: only the latest of a batch is written, after the route
   * writes before it, so a client resubscribing many members at once (a reconnect) costs one
   * write per group, not one per change.
   */
  sharedMembersChanged(key: string, members: number): void {
    const at = this.pendingMembers.get(key);
    if (at !== undefined) this.pending[at] = undefined;
    this.pendingMembers.set(key, this.pending.length);
    this.queue({ op: 'members', filter: key, members });
  }

  /**
   * This node's whole route set written again (at start, over what a former run under the
   * same name left; after a reconnect or a purge), every group's member count with it, ones
   * included, so that a count that fell while the store was away (or restarted empty) is not
   * left stale. Sent together (no wait between them), so that writes still pending go after
   * all of it and bring it up to date.
   */
  async restore(keys: string[], counts: Map<string, number>): Promise<void> {
    const sent = [this.store.setRoutes(this.self, keys)];
    const members: RouteWrite[] = [...counts].map(([filter, n]) => ({ op: 'members', filter, members: n }));
    for (let i = 0; i < members.length; i += this.batchMax) sent.push(this.store.writeRoutes(this.self, members.slice(i, i + this.batchMax)));
    await Promise.all(sent);
  }

  private queue(w: RouteWrite): void {
    this.pending.push(w);
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends the oldest pending writes, up to batchMax, as one batch; the next when it is done. */
  private flush(): void {
    this.scheduled = false;
    if (this.stopped || this.inFlight) return;
    const batch: RouteWrite[] = [];
    let taken = 0;
    while (taken < this.pending.length && batch.length < this.batchMax) {
      const w = this.pending[taken++];
      if (w) batch.push(w);
    }
    this.setPending(this.pending.slice(taken));
    if (batch.length === 0) return;
    this.inFlight = true;
    this.store.writeRoutes(this.self, batch).then(
      () => {
        this.refused = 0;
        this.sent(0);
      },
      (err: unknown) => {
        if (this.store.connected) {
          // Refused with the store up: sent again first, never dropped, or the routes would
          // be missing until the next reconnect (nothing else writes them again). A batch
          // applied whose reply came too late is applied again harmlessly.
          const delay = Math.min(RETRY_MS * 2 ** this.refused++, RETRY_MAX_MS);
          this.log.warn({ err: (err as Error).message, writes: batch.length + this.pending.length, retryMs: delay }, 'route writes failed; retrying');
          this.setPending([...batch, ...this.pending]);
          this.sent(delay);
          return;
        }
        // the resync after the reconnect writes the whole set again (restore)
        this.log.debug({ writes: batch.length + this.pending.length }, 'route writes dropped until the store is back');
        this.refused = 0;
        this.setPending([]);
        this.inFlight = false;
      },
    );
  }

  private setPending(writes: (RouteWrite | undefined)[]): void {
    this.pending = writes;
    this.pendingMembers.clear();
    writes.forEach((w, i) => w?.op === 'members' && this.pendingMembers.set(w.filter, i));
  }

  private sent(delayMs: number): void {
    const next = () => {
      this.inFlight = false;
      this.flush();
    };
    if (this.pending.length === 0) this.inFlight = false;
    else if (delayMs > 0) setTimeout(next, delayMs).unref();
    else setImmediate(next);
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
