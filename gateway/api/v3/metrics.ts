import type { Resource } from '../endpoint.js';
import { gather, nodePair } from '../node-pair.js';
import { v3Metrics } from './metric-names.js';

/**
 * GET /metrics/, /nodes/{node}/metrics/: each node's counters (the same RPC as v4's) under
 * EMQX 3.x's names: over the cluster `{node, metrics}` per node, on one node the object.
 */
export const metrics: Resource = nodePair({
  path: '/metrics/',
  name: ['list_all_metrics', 'list_node_metrics'],
  descr: ['A list of metrics of all nodes in the cluster', 'A list of metrics of a node'],
  handle: async ({ cluster }, node) => {
    const rows = (await gather(cluster, node, 'metrics.get', { v3: true })).map((r) => ({ node: r.node, metrics: v3Metrics(r.data) }));
    return { data: node === undefined ? rows : rows[0]!.metrics };
  },
});
