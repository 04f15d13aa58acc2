/**
 * The subscriptions resource on this node (GET /api/v4/subscriptions...): its rows and the
 * subscription list's query, evaluated against each row so the node filters before it pages.
 */
import type { Slice } from '../../shared/api/page.js';
import { isFiltered as anyField } from '../../shared/api/query-schema.js';
import { SUBSCRIPTION_QUERY, type SUBSCRIPTIONS_PARAMS, type SubscriptionQuery, type SubscriptionRow } from '../../shared/api/subscriptions.js';
import type { RpcHandlers } from '../../shared/rpc.js';
import { parseShare, topicMatches } from '../../shared/topic.js';
import type { Broker } from '../broker.js';
import { count, page } from './page.js';

/** Every subscription on this node: by session in the order sessions opened, then in the order subscribed. */
function* rows(b: Broker): Generator<SubscriptionRow> {
  const node = b.nodeName;
  for (const s of b.sessions.values()) {
    for (const [topic, opts] of s.subscriptions) yield { node, clientid: s.clientId, topic, qos: opts.qos };
  }
}

/** Whether the query has any condition (EMQX then reports the total count as -1). */
export const isFiltered = (q: SubscriptionQuery): boolean => anyField(SUBSCRIPTION_QUERY, q);

/** Every query field; a field the schema gains and this list lacks fails the build. */
type Handled = 'clientid' | 'qos' | 'topic' | 'share' | '_match_topic';
const allFieldsHandled: [Exclude<keyof SubscriptionQuery, Handled>] extends [never] ? true : never = true;
void allFieldsHandled;

/**
 * As EMQX 4.x evaluates them (emqx_mgmt_api_subscriptions): `topic` is compared with the
 * subscribed topic without its share prefix (EMQX stores shared subscriptions that way), so
 * `topic=t` also finds `$share/g/t`; `share` is the share group (`$queue` for `$queue/...`);
 * `_match_topic` is a filter that the subscribed topic, read as a name, must match
 * (`_match_topic=a/#` finds `a/b` and `a/+`).
 */
export function matchSubscription(row: SubscriptionRow, q: SubscriptionQuery): boolean {
  if (q.clientid !== undefined && row.clientid !== q.clientid) return false;
  if (q.qos !== undefined && row.qos !== q.qos) return false;
  if (q.topic === undefined && q.share === undefined && q._match_topic === undefined) return true;
  // stored subscriptions were validated on the way in; null (malformed) cannot occur, read it as plain
  const share = parseShare(row.topic) ?? undefined;
  const topic = share ? share.filter : row.topic;
  if (q.topic !== undefined && topic !== q.topic) return false;
  if (q.share !== undefined && share?.group !== q.share) return false;
  if (q._match_topic !== undefined && !topicMatches(q._match_topic, topic)) return false;
  return true;
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
export function subscriptionsHandlers(b: Broker): Pick<RpcHandlers, keyof typeof SUBSCRIPTIONS_PARAMS> {
  return {
    'subscriptions.count': ({ query }) => countSubscriptions(b, query),
    'subscriptions.list': ({ query, offset, limit }) => listSubscriptions(b, query, { offset, limit }),
  };
}
