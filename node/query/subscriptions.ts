/**
 * The subscription list's query (GET /api/v4/subscriptions?...), evaluated against one
 * subscription row, so a node can filter before it pages.
 */
import type { SubscriptionQuery, SubscriptionRow } from '../../shared/rpc.js';
import { parseShare, topicMatches } from '../../shared/topic.js';

/** Every SubscriptionQuery field; the check below fails the build when the contract gains one not handled here. */
const FIELDS = ['clientid', 'topic', 'qos', 'share', '_match_topic'] as const satisfies readonly (keyof SubscriptionQuery)[];
const allFieldsHandled: [Exclude<keyof SubscriptionQuery, (typeof FIELDS)[number]>] extends [never] ? true : never = true;
void allFieldsHandled;

/** Whether the query has any condition (EMQX then reports the total count as -1). */
export function isFiltered(q: SubscriptionQuery): boolean {
  return FIELDS.some((f) => q[f] !== undefined);
}

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
