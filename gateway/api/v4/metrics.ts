import type { Resource } from '../endpoint.js';
import { nodeLists, nodePair } from '../node-pair.js';

/** GET /metrics, /nodes/{node}/metrics: every EMQX counter of each node (emqx_mgmt_api_metrics). */
export const metrics: Resource = nodePair({
  path: '/metrics',
  name: ['list_all_metrics', 'list_node_metrics'],
  descr: ['A list of metrics of all nodes in the cluster', 'A list of metrics of a node'],
  handle: nodeLists('metrics.get', {}, 'metrics'),
});
