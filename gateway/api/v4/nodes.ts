import type { Resource } from '../endpoint.js';

/** GET /nodes, /nodes/{node}: the state of each node. */
export const nodes: Resource = [
  {
    method: 'GET',
    path: '/nodes',
    name: 'list_nodes',
    descr: 'A list of nodes in the cluster',
    handle: async ({ cluster }) => ({ data: (await cluster.all('nodes.get', {})).map((r) => r.data) }),
  },
  {
    method: 'GET',
    path: '/nodes/:node',
    name: 'lookup_node',
    descr: 'Lookup a node in the cluster',
    handle: async ({ cluster, params }) => ({ data: await cluster.one(params.node!, 'nodes.get', {}) }),
  },
];
