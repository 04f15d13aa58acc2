/**
 * One round of a scrape over the cluster: the registry's nodes, and one `metrics.scrape`
 * RPC to each live one, in parallel. A node that does not answer within the timeout, or
 * whose heartbeat is stale (dead, not purged yet), is reported down: the round itself
 * never fails over a node.
 */
import type { MetricsScrape } from '../../shared/api/metrics.js';
import type { ClusterClient, RegisteredNode } from '../cluster-client.js';

export interface NodeScrape {
  node: string;
  /** answered this round's RPC */
  up: boolean;
  /** its counters and stats, when up */
  reply?: MetricsScrape;
  /** why it is down, when it was asked */
  error?: string;
}

export interface ClusterScrape {
  /** when the round was answered (ms since the epoch) */
  at: number;
  /** every node known, in name order */
  nodes: NodeScrape[];
}

/**
 * How long a node that left the registry (the cluster purges a dead node a heartbeat
 * after its TTL) is still reported down: long enough for Prometheus, scraping every few
 * seconds, to see `starling_node_up 0` and for an alert on it to fire; a node removed
 * for good leaves the exposition after that.
 */
export const DOWN_RETENTION_MS = 10 * 60_000;

/** The fetch of a scrape round over `cluster`; it remembers the nodes it has seen (for DOWN_RETENTION_MS). */
export function clusterScraper(cluster: ClusterClient, timeoutMs: number, now: () => number = Date.now): () => Promise<ClusterScrape> {
  const seen = new Map<string, number>(); // node → last time it was in the registry
  return async () => {
    const t = now();
    let registered: RegisteredNode[];
    try {
      registered = await cluster.registered();
      for (const r of registered) seen.set(r.name, t);
    } catch {
      // the registry is unreachable: the nodes themselves may be fine, ask the ones known
      registered = [...seen.keys()].map((name) => ({ name, live: true }));
    }
    const live = new Set(registered.filter((r) => r.live).map((r) => r.name));
    for (const [name, at] of seen) if (t - at > DOWN_RETENTION_MS) seen.delete(name);
    const names = [...new Set([...seen.keys(), ...registered.map((r) => r.name)])].sort();
    const nodes = await Promise.all(
      names.map(async (node): Promise<NodeScrape> => {
        if (!live.has(node)) return { node, up: false };
        try {
          return { node, up: true, reply: await cluster.call(node, 'metrics.scrape', {}, timeoutMs) };
        } catch (err) {
          return { node, up: false, error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    return { at: now(), nodes };
  };
}
