import type { Resource } from '../endpoint.js';
import { gather, nodePair } from '../node-pair.js';
import { v3Stats } from './metric-names.js';

/**
 * GET /stats/, /nodes/{node}/stats/: each node's gauges (the same RPC as v4's) under EMQX
 * 3.x's names: over the cluster one flat object per node with its `node`, on one node the
 * object without it.
 */
export const stats: Resource = nodePair({
  path: '/stats/',
  name: ['list_stats', 'lookup_node_stats'],
  descr: ['A list of stats of all nodes in the cluster', 'A list of stats of a node'],
  handle: async ({ cluster }, node) => {
    const rows = await gather(cluster, node, 'stats.get', { v3: true });
    return { data: node === undefined ? rows.map((r) => ({ node: r.node, ...v3Stats(r.data) })) : v3Stats(rows[0]!.data) };
  },
});
