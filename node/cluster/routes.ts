import type { RouteChange, StoredRoute } from '../../shared/cluster/store.js';
import { parseShare } from '../../shared/topic.js';
import { TopicTrie } from '../router/trie.js';

/** Which other nodes have subscribers under one topic filter. */
export interface RemoteEntry {
  filter: string;
  /** nodes with ordinary subscribers; replaced, never changed in place (see withNode) */
  nodes: ReadonlySet<string>;
  /** shared group → node with members of it → how many (the cluster-wide choice weighs them) */
  groups: Map<string, Map<string, number>> | undefined;
}

/**
 * The other nodes' routes (this node's own are its local router), kept current from the
 * store's change notifications and reloaded whole after a reconnect. Matching is cached per
 * topic by the trie, like the local router's, and invalidated on any change here.
 */
export class ClusterRoutes {
  private trie = new TopicTrie<RemoteEntry>();
  private count = 0;
  /**
   * How long at most a dead node's ordinary routes are kept after it is dropped (0: not
   * kept; releaseKept() ends it sooner): its persistent sessions are adopted or resumed
   * elsewhere only a while later, and meanwhile QoS 1/2 messages for them go to the dead
   * node as before, where forwarding finds nobody listening and stores them for those
   * sessions (unreachable-forwards.ts). Shared groups' routes are never kept: another member
   * takes the message.
   */
  keepDeadMs = 0;
  /** dead nodes whose routes are kept: their filters, and the timer that drops them */
  private readonly kept = new Map<string, { filters: string[]; since: number; timer: NodeJS.Timeout; releasing: boolean }>();

  constructor(private readonly self: string) {}

  /** no remote route at all: publishing needs no cluster work */
  get empty(): boolean {
    return this.count === 0;
  }

  get size(): number {
    return this.count;
  }

  apply(c: RouteChange): void {
    this.applyAll([c]);
  }

  /** A batch of changes (one route-delta notice): the match cache is invalidated once for all. */
  applyAll(changes: RouteChange[]): void {
    // a purge may reach here before this node's own heartbeat check finds its node dead
    if (this.keepDeadMs > 0) for (const c of changes) if (c.purge && !this.kept.has(c.node) && c.node !== this.self) this.removeNode(c.node);
    let changed = false;
    for (const c of changes) if (this.change(c)) changed = true;
    if (changed) this.trie.invalidate();
  }

  /** true when a match may differ: a filter's nodes or groups changed */
  private change(c: RouteChange): boolean {
    if (c.node === this.self) return false; // our own routes are the local router
    // the purge of a node whose routes are kept here (their deletion comes when the keeping ends)
    if (c.op === 'delete' && this.kept.has(c.node) && parseShare(c.filter) === undefined) return false;
    const share = parseShare(c.filter);
    if (share === null) return false;
    const filter = share ? share.filter : c.filter;
    if (c.op === 'add') {
      const entry = this.trie.upsert(filter, newEntry);
      if (share) {
        const groups = (entry.groups ??= new Map());
        let members = groups.get(share.group);
        if (!members) groups.set(share.group, (members = new Map()));
        if (!members.has(c.node)) this.count++;
        // a count change of a known route changes no match: the cached entries hold this map
        else if (c.members === undefined) return false;
        members.set(c.node, c.members ?? 1);
      } else {
        if (entry.nodes.has(c.node)) return false;
        entry.nodes = withNode(entry.nodes, c.node);
        this.count++;
      }
    } else {
      const entry = this.trie.get(filter);
      if (!entry) return false;
      if (share) {
        const members = entry.groups?.get(share.group);
        if (!members?.delete(c.node)) return false;
        if (members.size === 0) entry.groups!.delete(share.group);
      } else if (entry.nodes.has(c.node)) entry.nodes = withoutNode(entry.nodes, c.node);
      else return false;
      this.count--;
      if (entry.nodes.size === 0 && (!entry.groups || entry.groups.size === 0)) this.trie.delete(filter);
    }
    return true;
  }

  /**
   * Replaces the whole table (start, reconnect): a node joining a cluster of a million
   * routes loads them before it listens, so each route costs one trie walk (upsert), no
   * intermediate map and no match-cache invalidation of its own.
   */
  load(routes: StoredRoute[]): void {
    this.trie = new TopicTrie();
    this.count = 0;
    // a dead node's kept routes are gone from the store: they stay here
    for (const [node, k] of this.kept) for (const filter of k.filters) routes = [...routes, { node, filter }];
    for (const r of routes) {
      if (r.node === this.self) continue;
      const share = parseShare(r.filter);
      if (share === null) continue;
      const entry = this.trie.upsert(share ? share.filter : r.filter, newEntry);
      if (share) {
        const groups = (entry.groups ??= new Map());
        let members = groups.get(share.group);
        if (!members) groups.set(share.group, (members = new Map()));
        if (!members.has(r.node)) this.count++;
        members.set(r.node, r.members ?? 1);
      } else if (!entry.nodes.has(r.node)) {
        entry.nodes = withNode(entry.nodes, r.node);
        this.count++;
      }
    }
  }

  /** Drops every route of a node (it died or left); its ordinary ones only after keepDeadMs. */
  removeNode(node: string): void {
    if (this.kept.has(node)) return;
    const rows = this.rows().filter((r) => r.node === node);
    if (this.keepDeadMs <= 0) return this.drop(node, rows);
    const ordinary = rows.filter((r) => r.members === undefined);
    this.drop(
      node,
      rows.filter((r) => r.members !== undefined),
    );
    if (ordinary.length === 0) return;
    const timer = setTimeout(() => this.expire(node), this.keepDeadMs);
    timer.unref();
    this.kept.set(node, { filters: ordinary.map((r) => r.filter), since: Date.now(), timer, releasing: false });
  }

  /** dead nodes whose routes are kept now, with when the keeping began */
  keptNodes(): [string, number][] {
    return [...this.kept].map(([n, k]) => [n, k.since]);
  }

  /**
   * When a node's kept routes end: true when it is alive again (its routes are then read
   * back whole, which replaces the table at once: dropping the kept ones first would leave
   * its filters without a route until the read came back)
   */
  keptEnded: ((node: string) => boolean) | undefined = undefined;

  /** The sessions of a dead node are owned elsewhere now: its kept routes go after `graceMs` (the new owners' routes arrive meanwhile). */
  releaseKept(node: string, graceMs: number): void {
    const k = this.kept.get(node);
    if (k === undefined || k.releasing) return;
    k.releasing = true;
    clearTimeout(k.timer);
    k.timer = setTimeout(() => this.expire(node), graceMs);
    k.timer.unref();
  }

  private expire(node: string): void {
    const k = this.kept.get(node);
    if (k === undefined) return;
    this.kept.delete(node);
    if (this.keptEnded?.(node) === true) return;
    this.drop(
      node,
      k.filters.map((filter) => ({ node, filter })),
    );
  }

  /** A node taken for dead is alive again: its kept routes are no longer kept (the store's are read back). */
  unkeep(node: string): void {
    const k = this.kept.get(node);
    if (k === undefined) return;
    clearTimeout(k.timer);
    this.kept.delete(node);
  }

  /** No more timers (the node stops). */
  stop(): void {
    for (const k of this.kept.values()) clearTimeout(k.timer);
    this.kept.clear();
  }

  private drop(node: string, rows: StoredRoute[]): void {
    this.applyAll(rows.map((r) => ({ op: 'delete' as const, node, filter: r.filter })));
  }

  /** whether `node` has ordinary subscribers under `filter` */
  has(node: string, filter: string): boolean {
    return this.trie.get(filter)?.nodes.has(node) === true;
  }

  match(topic: string): RemoteEntry[] {
    return this.trie.matchCached(topic);
  }

  /** Every remote route as `{node, filter}` with shared groups as `$share/<group>/<filter>` (and their member counts). */
  rows(): StoredRoute[] {
    const out: StoredRoute[] = [];
    for (const [filter, e] of this.trie.entries()) {
      for (const node of e.nodes) out.push({ node, filter });
      if (e.groups) for (const [g, nodes] of e.groups) for (const [node, members] of nodes) out.push({ node, filter: `$share/${g}/${filter}`, members });
    }
    return out;
  }
}

const NONE: ReadonlySet<string> = new Set();
/**
 * One set per node for the filters only that node has, shared by all of them: most filters
 * have subscribers on one node, and a million sets of one would weigh ~100 MB per node.
 */
const singles = new Map<string, ReadonlySet<string>>();

function withNode(nodes: ReadonlySet<string>, node: string): ReadonlySet<string> {
  if (nodes.size > 0) return new Set([...nodes, node]);
  let one = singles.get(node);
  if (!one) singles.set(node, (one = new Set([node])));
  return one;
}

function withoutNode(nodes: ReadonlySet<string>, node: string): ReadonlySet<string> {
  const rest = [...nodes].filter((n) => n !== node);
  return rest.length === 0 ? NONE : rest.length === 1 ? withNode(NONE, rest[0]!) : new Set(rest);
}

const newEntry = (filter: string): RemoteEntry => ({ filter, nodes: NONE, groups: undefined });
