import type { SubscriptionQuery } from '../../../shared/rpc.js';
import type { Resource } from '../endpoint.js';
import { pagedList } from '../paged-list.js';
import type { QuerySchema } from '../schema.js';

/** The subscription list's query string (EMQX 4.1+). */
export const SUBSCRIPTION_QUERY: QuerySchema<SubscriptionQuery> = {
  clientid: 'string',
  topic: 'string',
  qos: 'qos',
  share: 'string',
  _match_topic: 'string',
};

/** All of a client's subscriptions come in one answer, as EMQX's lookup is not paged. */
const ALL = { offset: 0, limit: Number.MAX_SAFE_INTEGER };


/** GET /subscriptions..., /nodes/{node}/subscriptions... */
export const subscriptions: Resource = [
  {
    method: 'GET',
    path: '/subscriptions',
    name: 'list_subscriptions',
    descr: 'A list of subscriptions in the cluster',
    handle: (ctx) => pagedList(ctx, SUBSCRIPTION_QUERY, 'subscriptions.count', 'subscriptions.list'),
  },
  {
    method: 'GET',
    path: '/nodes/:node/subscriptions',
    name: 'list_node_subscriptions',
    descr: 'A list of subscriptions on a node',
    handle: (ctx) => pagedList(ctx, SUBSCRIPTION_QUERY, 'subscriptions.count', 'subscriptions.list', ctx.params.node!),
  },
  {
    method: 'GET',
    path: '/subscriptions/:clientid',
    name: 'lookup_client_subscriptions',
    descr: 'A list of subscriptions of a client',
    handle: async ({ cluster, params }) => ({
      data: (await cluster.all('subscriptions.list', { query: { clientid: params.clientid! }, ...ALL })).flatMap((r) => r.data),
    }),
  },
  {
    method: 'GET',
    path: '/nodes/:node/subscriptions/:clientid',
    name: 'lookup_client_subscriptions_with_node',
    descr: 'A list of subscriptions of a client on the node',
    handle: async ({ cluster, params }) => ({
      data: await cluster.one(params.node!, 'subscriptions.list', { query: { clientid: params.clientid! }, ...ALL }),
    }),
  },
];
