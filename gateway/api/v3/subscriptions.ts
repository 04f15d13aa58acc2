import type { SubscriptionRow } from '../../../shared/api/subscriptions.js';
import type { Resource } from '../endpoint.js';
import { subscriptions as v4Subscriptions } from '../v4/subscriptions.js';
import { mapRows, over, v4 } from './adapt.js';

/** v4's subscription row as v3's: `client_id` for `clientid`. */
const row = (r: SubscriptionRow): Record<string, unknown> => ({ client_id: r.clientid, node: r.node, qos: r.qos, topic: r.topic });
const reply = (r: Parameters<typeof mapRows>[0]) => mapRows(r, row);

/** GET /subscriptions..., /nodes/{node}/subscriptions...: v4's lists and lookups, rows renamed. */
export const subscriptions: Resource = [
  over(v4(v4Subscriptions, 'list_subscriptions'), { path: '/subscriptions/', name: 'list_subscriptions', descr: 'A list of subscriptions in the cluster', reply }),
  over(v4(v4Subscriptions, 'lookup_client_subscriptions'), {
    path: '/subscriptions/:clientid',
    name: 'lookup_client_subscriptions',
    descr: 'A list of subscriptions of a client',
    reply,
  }),
  over(v4(v4Subscriptions, 'lookup_client_subscriptions_with_node'), {
    path: '/nodes/:node/subscriptions/:clientid',
    name: 'lookup_client_subscriptions_with_node',
    descr: 'A list of subscriptions of a client on the node',
    reply,
  }),
  over(v4(v4Subscriptions, 'list_node_subscriptions'), {
    path: '/nodes/:node/subscriptions/',
    name: 'list_node_subscriptions',
    descr: 'A list of subscriptions on a node',
    reply,
  }),
];
