import type { RouteChange, StoredRoute } from '../../shared/cluster/store.js';
import { parseShare } from '../../shared/topic.js';
import { TopicTrie } from '../router/trie.js';

/** Which other nodes have subscribers under one topic filter. */
export interface RemoteEntry {
  filter: string;
  /** nodes with ordinary subscribers */
  nodes: Set<string>;
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
  private added: (() => void) | undefined;
  private removed: ((filter: string, node: string) => void) | undefined;
  /** when each ordinary route (`filter\0node`) was added (held forwards go to those newer than them) */
  private readonly addedAt = new Map<string, number>();

  constructor(private readonly self: string) {}

  /** `cb` runs after each route added (one listener: held forwards, reroute.ts) */
  onAdded(cb: () => void): void {
    this.added = cb;
  }

  /** `cb` runs after each ordinary route removed (one listener: routes of dead nodes kept, ghost-routes.ts) */
  onRemoved(cb: (filter: string, node: string) => void): void {
    this.removed = cb;
  }

  /** no remote route at all: publishing needs no cluster work */
  get empty(): boolean {
    return this.count === 0;
  }

  get size(): number {
    return this.count;
  }

  apply(c: RouteChange): void {
    if (c.node === this.self) return; // our own routes are the local router
    const share = parseShare(c.filter);
    if (share === null) return;
    const filter = share ? share.filter : c.filter;
    let entry = this.trie.get(filter);
    if (c.op === 'add') {
      if (!entry) {
        entry = { filter, nodes: new Set(), groups: undefined };
        this.trie.set(filter, entry);
      }
      if (share) {
        const groups = (entry.groups ??= new Map());
        let members = groups.get(share.group);
        if (!members) groups.set(share.group, (members = new Map()));
        if (!members.has(c.node)) this.count++;
        // a count change of a known route changes no match: the cached entries hold this map
        else if (c.members === undefined) return;
        members.set(c.node, c.members ?? 1);
      } else {
        if (entry.nodes.has(c.node)) return;
        entry.nodes.add(c.node);
        this.addedAt.set(`${filter}\u0000${c.node}`, Date.now());
        this.count++;
      }
    } else {
      if (!entry) return;
      if (share) {
        const members = entry.groups?.get(share.group);
        if (!members?.delete(c.node)) return;
        if (members.size === 0) entry.groups!.delete(share.group);
      } else if (!entry.nodes.delete(c.node)) return;
      else {
        this.addedAt.delete(`${filter}\u0000${c.node}`);
        this.removed?.(filter, c.node);
      }
      this.count--;
      if (entry.nodes.size === 0 && (!entry.groups || entry.groups.size === 0)) this.trie.delete(filter);
    }
    this.trie.invalidate();
    if (c.op === 'add') this.added?.();
  }

  /**
   * Replaces the whole table (start, reconnect). Entries are gathered by filter in a Map
   * first and each put into the trie once: a node joining a cluster of a million routes
   * loads them before it listens, and a trie walk per route (as apply does) doubled that.
   */
  load(routes: StoredRoute[]): void {
    const entries = new Map<string, RemoteEntry>();
    this.trie = new TopicTrie();
    this.count = 0;
    this.addedAt.clear();
    const now = Date.now();
    for (const r of routes) {
      if (r.node === this.self) continue;
      const share = parseShare(r.filter);
      if (share === null) continue;
      const filter = share ? share.filter : r.filter;
      let entry = entries.get(filter);
      if (!entry) entries.set(filter, (entry = { filter, nodes: new Set(), groups: undefined }));
      if (share) {
        const groups = (entry.groups ??= new Map());
        let members = groups.get(share.group);
        if (!members) groups.set(share.group, (members = new Map()));
        if (!members.has(r.node)) this.count++;
        members.set(r.node, r.members ?? 1);
      } else if (!entry.nodes.has(r.node)) {
        entry.nodes.add(r.node);
        this.addedAt.set(`${filter}\u0000${r.node}`, now);
        this.count++;
      }
    }
    for (const [filter, entry] of entries) this.trie.set(filter, entry);
    if (routes.length > 0) this.added?.();
  }

  /** Drops every route of a node (it died or left). */
  removeNode(node: string): void {
    for (const r of this.rows()) if (r.node === node) this.apply({ op: 'delete', node, filter: r.filter });
  }

  /** when the ordinary route of `node` for `filter` was added (0: unknown) */
  since(filter: string, node: string): number {
    return this.addedAt.get(`${filter}\u0000${node}`) ?? 0;
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
