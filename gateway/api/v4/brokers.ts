import type { Resource } from '../endpoint.js';
import { nodeObjects, nodePair } from '../node-pair.js';

/** GET /brokers, /brokers/{node}: basic information of each node. */
export const brokers: Resource = nodePair({
  path: '/brokers',
  nodePath: '/brokers/:node',
  name: ['list_brokers', 'lookup_broker'],
  descr: ['A list of brokers in the cluster', 'Lookup info of a broker in the cluster'],
  handle: nodeObjects('brokers.get', {}),
});
