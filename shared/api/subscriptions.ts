/** The subscriptions resource (GET /api/v4/subscriptions...): its rows, its query and its RPC methods. */
import { SLICE } from './page.js';
import type { ParamShapes, RpcOf } from './params-schema.js';
import type { QueryOf } from './query-schema.js';

/** One row of GET /api/v4/subscriptions. */
export interface SubscriptionRow {
  node: string;
  clientid: string;
  topic: string;
  qos: number;
}

/** The subscription list's query parameters (EMQX 4.1+). */
export const SUBSCRIPTION_QUERY = {
  clientid: 'string',
  topic: 'string',
  qos: 'qos',
  share: 'string',
  /** a filter: subscriptions whose topic (read as a name, share prefix stripped) it matches, as EMQX does */
  _match_topic: 'string',
} as const;
export type SubscriptionQuery = QueryOf<typeof SUBSCRIPTION_QUERY>;

export const SUBSCRIPTIONS_PARAMS = {
  'subscriptions.count': { query: { query: SUBSCRIPTION_QUERY } },
  'subscriptions.list': { query: { query: SUBSCRIPTION_QUERY }, ...SLICE },
} as const satisfies ParamShapes;

export interface SubscriptionsReplies {
  'subscriptions.count': number;
  'subscriptions.list': SubscriptionRow[];
}
export type SubscriptionsRpc = RpcOf<typeof SUBSCRIPTIONS_PARAMS, SubscriptionsReplies>;
