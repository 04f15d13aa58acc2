/**
 * Routes of a dead node kept for a while (docs/forwarding.md, "Between a death and the
 * adoption"): its persistent sessions come back on another node (adopted at its purge, or
 * resumed by their clients), but the routes of that node reach this one a moment after the
 * dead node's were dropped here, and a QoS 1/2 message published in between had no route
 * and was lost for them. Kept, such a route sends the message to the dead node as before;
 * NATS finds nobody there, the forward is held and rerouted where the session's route
 * appears (reroute.ts), and the publisher's acknowledgement waits for that.
 */
import { TopicTrie } from '../router/trie.js';

interface Ghost {
  readonly filter: string;
  /** dead node → until when (epoch ms) its route is kept */
  readonly nodes: Map<string, number>;
}

export class GhostRoutes {
  private readonly trie = new TopicTrie<Ghost>();
  private readonly byFilter = new Map<string, Ghost>();
  private readonly scratch: Ghost[] = [];

  /** none kept: the publish path looks no further */
  get empty(): boolean {
    return this.byFilter.size === 0;
  }

  /** Keeps the route of dead `node` for `filter` until `until`. */
  add(filter: string, node: string, until: number): void {
    let g = this.byFilter.get(filter);
    if (g === undefined) {
      g = { filter, nodes: new Map() };
      this.byFilter.set(filter, g);
      this.trie.set(filter, g);
    }
    g.nodes.set(node, until);
  }

  /** Forgets every route of `node` (it heartbeats again: its own routes are back). */
  dropNode(node: string): void {
    for (const g of this.all()) if (g.nodes.delete(node) && g.nodes.size === 0) this.remove(g);
  }

  /** Keeps only the routes `keep` says a stored persistent session may still need. */
  retain(keep: (filter: string, node: string) => boolean): void {
    for (const g of this.all()) {
      for (const node of g.nodes.keys()) if (!keep(g.filter, node)) g.nodes.delete(node);
      if (g.nodes.size === 0) this.remove(g);
    }
  }

  /**
   * Calls `to` with each dead node kept for a filter matching `topic`, unless `live(filter)`
   * says a live node has a route for that same filter again (the session is back: the kept
   * one goes). Expired ones go too.
   */
  match(topic: string, live: (filter: string) => boolean, to: (node: string) => void): void {
    const found = this.trie.match(topic, this.scratch);
    const now = Date.now();
    for (const g of found) {
      if (live(g.filter)) {
        this.remove(g);
        continue;
      }
      for (const [node, until] of g.nodes) {
        if (until > now) to(node);
        else g.nodes.delete(node);
      }
      if (g.nodes.size === 0) this.remove(g);
    }
    found.length = 0;
  }

  private all(): Ghost[] {
    return [...this.byFilter.values()];
  }

  private remove(g: Ghost): void {
    this.byFilter.delete(g.filter);
    this.trie.delete(g.filter);
  }
}
