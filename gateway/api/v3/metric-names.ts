import type { MetricName, V3MetricName } from '../../../shared/emqx-names.js';

/**
 * EMQX 3.x's metric names (GET /api/v3/metrics) and the counter each is: 4.x renamed them
 * with dots and named each packet counter's direction (`packets/connect` is what 4.x
 * calls `packets.connect.received`). The list is 3.x's, as the spec's example has it.
 */
export const V3_METRICS: readonly (readonly [v3: string, counter: MetricName | V3MetricName])[] = [
  ['bytes/received', 'bytes.received'],
  ['bytes/sent', 'bytes.sent'],
  ['packets/received', 'packets.received'],
  ['packets/sent', 'packets.sent'],
  ['packets/connect', 'packets.connect.received'],
  ['packets/connack', 'packets.connack.sent'],
  ['packets/publish/received', 'packets.publish.received'],
  ['packets/publish/sent', 'packets.publish.sent'],
  ['packets/puback/received', 'packets.puback.received'],
  ['packets/puback/sent', 'packets.puback.sent'],
  ['packets/puback/missed', 'packets.puback.missed'],
  ['packets/pubrec/received', 'packets.pubrec.received'],
  ['packets/pubrec/sent', 'packets.pubrec.sent'],
  ['packets/pubrec/missed', 'packets.pubrec.missed'],
  ['packets/pubrel/received', 'packets.pubrel.received'],
  ['packets/pubrel/sent', 'packets.pubrel.sent'],
  ['packets/pubrel/missed', 'packets.pubrel.missed'],
  ['packets/pubcomp/received', 'packets.pubcomp.received'],
  ['packets/pubcomp/sent', 'packets.pubcomp.sent'],
  ['packets/pubcomp/missed', 'packets.pubcomp.missed'],
  ['packets/subscribe', 'packets.subscribe.received'],
  ['packets/suback', 'packets.suback.sent'],
  ['packets/unsubscribe', 'packets.unsubscribe.received'],
  ['packets/unsuback', 'packets.unsuback.sent'],
  ['packets/pingreq', 'packets.pingreq.received'],
  ['packets/pingresp', 'packets.pingresp.sent'],
  ['packets/disconnect/received', 'packets.disconnect.received'],
  ['packets/disconnect/sent', 'packets.disconnect.sent'],
  ['packets/auth', 'packets.auth.received'],
  ['messages/received', 'messages.received'],
  ['messages/sent', 'messages.sent'],
  ['messages/qos0/received', 'messages.qos0.received'],
  ['messages/qos0/sent', 'messages.qos0.sent'],
  ['messages/qos1/received', 'messages.qos1.received'],
  ['messages/qos1/sent', 'messages.qos1.sent'],
  ['messages/qos2/received', 'messages.qos2.received'],
  ['messages/qos2/sent', 'messages.qos2.sent'],
  // a QoS 2 PUBLISH refused because the session's awaiting-PUBREL window was full
  ['messages/qos2/dropped', 'packets.publish.dropped'],
  // a QoS 2 message whose PUBREL did not come within the await-rel timeout
  ['messages/qos2/expired', 'messages.qos2.expired'],
  ['messages/dropped', 'messages.dropped'],
  // a message that expired before it could be delivered
  ['messages/expired', 'delivery.dropped.expired'],
  ['messages/retained', 'messages.retained'],
  ['messages/forward', 'messages.forward'],
];

/** One node's counters (asked with `v3: true`) under EMQX 3.x's names. */
export function v3Metrics(counters: Partial<Record<MetricName | V3MetricName, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [v3, counter] of V3_METRICS) out[v3] = counters[counter] ?? 0;
  return out;
}

/** EMQX 3.x's gauges, each reported as `<name>/count` and its maximum `<name>/max` (4.x added channels, suboptions and resources). */
const V3_STATS = ['connections', 'sessions', 'sessions.persistent', 'topics', 'subscribers', 'subscriptions', 'subscriptions.shared', 'routes', 'retained'] as const;

/** One node's stats (asked with `v3: true`) under EMQX 3.x's names: slashes for dots (`sessions/persistent/count`). */
export function v3Stats(stats: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of V3_STATS) {
    for (const which of ['count', 'max'] as const) out[`${name.replaceAll('.', '/')}/${which}`] = stats[`${name}.${which}`] ?? 0;
  }
  return out;
}
