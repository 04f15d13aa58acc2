import type { NodeRow } from '../../../shared/api/nodes.js';
import type { Resource } from '../endpoint.js';
import { gather } from '../node-pair.js';
import { nodes as v4Nodes } from '../v4/nodes.js';
import { mapRows, over, v4 } from './adapt.js';

/**
 * GET /nodes/, /nodes/{node}: the "monitoring data" of the nodes (v4's node rows), with
 * `name` beside `node` as EMQX 3.x had it. Over the cluster the memory readings are
 * formatted ("76.45M"); on one node they are bytes and `node` is left out, as the spec's
 * examples show (EMQX 3's own asymmetry).
 */
const clusterRow = (r: NodeRow): Record<string, unknown> => ({ ...r, name: r.node });

function nodeRow(r: NodeRow): Record<string, unknown> {
  const { v3, node, ...row } = r;
  return { ...row, name: node, memory_used: v3!.memory_used, memory_total: v3!.memory_total };
}

export const nodes: Resource = [
  over(v4(v4Nodes, 'list_nodes'), { path: '/nodes/', name: 'list_nodes', descr: 'A list of nodes in the cluster', reply: (r) => mapRows(r, clusterRow) }),
  // v4's lookup does not ask for the bytes: the same RPC, with `v3`
  {
    method: 'GET',
    path: '/nodes/:node',
    name: 'get_node',
    descr: 'Lookup a node in the cluster',
    handle: async ({ cluster, params }) => ({ data: nodeRow((await gather(cluster, params.node!, 'nodes.get', { v3: true }))[0]!.data) }),
  },
];
