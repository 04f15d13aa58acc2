import type { Resource } from '../endpoint.js';

/** GET /brokers, /brokers/{node}: basic information of each node. */
export const brokers: Resource = [
  {
    method: 'GET',
    path: '/brokers',
    name: 'list_brokers',
    descr: 'A list of brokers in the cluster',
    handle: async ({ cluster }) => ({ data: (await cluster.all('brokers.get', {})).map((r) => r.data) }),
  },
  {
    method: 'GET',
    path: '/brokers/:node',
    name: 'lookup_broker',
    descr: 'Lookup info of a broker in the cluster',
    handle: async ({ cluster, params }) => ({ data: await cluster.one(params.node!, 'brokers.get', {}) }),
  },
];
