import type { Resource } from '../endpoint.js';
import { nodeLists, nodePair } from '../node-pair.js';

/**
 * GET /listeners, /nodes/{node}/listeners: each node's listeners with their live connection
 * counts and why connections ended (shutdown_count by EMQX's reason names). Over the cluster
 * one `{node, listeners}` object per node, on one node the array itself, as the spec shows.
 */
export const listeners: Resource = nodePair({
  path: '/listeners',
  name: ['list_listeners', 'list_node_listeners'],
  descr: ['A list of listeners in the cluster', 'A list of listeners on the node'],
  handle: nodeLists('listeners.list', {}, 'listeners'),
});
