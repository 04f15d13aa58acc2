import type { Resource } from '../endpoint.js';
import { nodeObjects, nodePair } from '../node-pair.js';

/** GET /nodes, /nodes/{node}: the state of each node. */
export const nodes: Resource = nodePair({
  path: '/nodes',
  nodePath: '/nodes/:node',
  name: ['list_nodes', 'lookup_node'],
  descr: ['A list of nodes in the cluster', 'Lookup a node in the cluster'],
  handle: nodeObjects('nodes.get', {}),
});
