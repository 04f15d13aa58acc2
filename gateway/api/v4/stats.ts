import type { Resource } from '../endpoint.js';
import { nodeLists, nodePair } from '../node-pair.js';

/** GET /stats, /nodes/{node}/stats: every EMQX gauge of each node with its maximum (emqx_mgmt_api_stats). */
export const stats: Resource = nodePair({
  path: '/stats',
  name: ['list_stats', 'lookup_node_stats'],
  descr: ['A list of stats of all nodes in the cluster', 'A list of stats of a node'],
  handle: nodeLists('stats.get', {}, 'stats'),
});
