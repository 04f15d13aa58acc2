import type { RpcHandlers, Slice, SubscriptionQuery, SubscriptionRow } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import { count, page } from '../query/page.js';
import { isFiltered, matchSubscription } from '../query/subscriptions.js';

/** Every subscription on this node: by session in the order sessions opened, then in the order subscribed. */
function* rows(b: Broker): Generator<SubscriptionRow> {
  const node = b.nodeName;
  for (const s of b.sessions.values()) {
    for (const [topic, opts] of s.subscriptions) yield { node, clientid: s.clientId, topic, qos: opts.qos };
  }
}

export function listSubscriptions(b: Broker, query: SubscriptionQuery, slice: Slice): SubscriptionRow[] {
  return page(rows(b), isFiltered(query) ? (r) => matchSubscription(r, query) : undefined, slice);
}

export function countSubscriptions(b: Broker, query: SubscriptionQuery): number {
  if (isFiltered(query)) return count(rows(b), (r) => matchSubscription(r, query));
  let n = 0;
  for (const s of b.sessions.values()) n += s.subscriptions.size;
  return n;
}

/** GET /api/v4/subscriptions on this node. */
export function subscriptionsHandlers(b: Broker): Pick<RpcHandlers, 'subscriptions.count' | 'subscriptions.list'> {
  return {
    'subscriptions.count': ({ query }) => countSubscriptions(b, query ?? {}),
    'subscriptions.list': ({ query, offset, limit }) => listSubscriptions(b, query ?? {}, { offset, limit }),
  };
}
