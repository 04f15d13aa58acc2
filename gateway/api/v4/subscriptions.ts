import { SUBSCRIPTION_QUERY } from '../../../shared/api/subscriptions.js';
import type { Resource } from '../endpoint.js';
import { gather, nodePair } from '../node-pair.js';
import { pagedList } from '../paged-list.js';

/** All of a client's subscriptions come in one answer, as EMQX's lookup is not paged. */
const ALL = { offset: 0, limit: Number.MAX_SAFE_INTEGER };

/** GET /subscriptions..., /nodes/{node}/subscriptions... */
export const subscriptions: Resource = [
  ...nodePair({
    path: '/subscriptions',
    name: ['list_subscriptions', 'list_node_subscriptions'],
    descr: ['A list of subscriptions in the cluster', 'A list of subscriptions on a node'],
    handle: (ctx, node) => pagedList(ctx, SUBSCRIPTION_QUERY, 'subscriptions.count', 'subscriptions.list', node),
  }),
  ...nodePair({
    path: '/subscriptions/:clientid',
    name: ['lookup_client_subscriptions', 'lookup_client_subscriptions_with_node'],
    descr: ['A list of subscriptions of a client', 'A list of subscriptions of a client on the node'],
    handle: async ({ cluster, params }, node) => ({
      data: (await gather(cluster, node, 'subscriptions.list', { query: { clientid: params.clientid! }, ...ALL })).flatMap((r) => r.data),
    }),
  }),
];
