/**
 * The EMQX 4.x metric and stat names, declared once: the node counts them, the API and
 * `/metrics` report them under these names (spec: GET /api/v4/metrics and GET /api/v4/stats).
 */
export const METRIC_NAMES = [
  'bytes.received',
  'bytes.sent',
  'client.authenticate',
  'client.auth.anonymous',
  'client.connect',
  'client.connack',
  'client.connected',
  'client.disconnected',
  'client.check_acl',
  'client.subscribe',
  'client.unsubscribe',
  'delivery.dropped.too_large',
  'delivery.dropped.queue_full',
  'delivery.dropped.qos0_msg',
  'delivery.dropped.expired',
  'delivery.dropped.no_local',
  'delivery.dropped',
  'messages.delayed',
  'messages.delivered',
  'messages.dropped',
  'messages.dropped.expired',
  'messages.dropped.no_subscribers',
  'messages.forward',
  'messages.publish',
  'messages.qos0.received',
  'messages.qos1.received',
  'messages.qos2.received',
  'messages.qos0.sent',
  'messages.qos1.sent',
  'messages.qos2.sent',
  'messages.received',
  'messages.sent',
  'messages.retained',
  'messages.acked',
  'packets.received',
  'packets.sent',
  'packets.connect.received',
  'packets.connack.auth_error',
  'packets.connack.error',
  'packets.connack.sent',
  'packets.publish.received',
  'packets.publish.sent',
  'packets.publish.inuse',
  'packets.publish.auth_error',
  'packets.publish.error',
  'packets.publish.dropped',
  'packets.puback.received',
  'packets.puback.sent',
  'packets.puback.inuse',
  'packets.puback.missed',
  'packets.pubrec.received',
  'packets.pubrec.sent',
  'packets.pubrec.inuse',
  'packets.pubrec.missed',
  'packets.pubrel.received',
  'packets.pubrel.sent',
  'packets.pubrel.missed',
  'packets.pubcomp.received',
  'packets.pubcomp.sent',
  'packets.pubcomp.inuse',
  'packets.pubcomp.missed',
  'packets.subscribe.received',
  'packets.subscribe.error',
  'packets.subscribe.auth_error',
  'packets.suback.sent',
  'packets.unsubscribe.received',
  'packets.unsubscribe.error',
  'packets.unsuback.sent',
  'packets.pingreq.received',
  'packets.pingresp.sent',
  'packets.disconnect.received',
  'packets.disconnect.sent',
  'packets.auth.received',
  'packets.auth.sent',
  'session.created',
  'session.discarded',
  'session.resumed',
  'session.takeovered',
  'session.terminated',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/**
 * EMQX 3.x counters that 4.x no longer has: counted beside the others, reported only by
 * GET /api/v3/metrics (as `messages/qos2/expired`: QoS 2 messages whose PUBREL never came).
 */
export const V3_METRIC_NAMES = ['messages.qos2.expired'] as const;

export type V3MetricName = (typeof V3_METRIC_NAMES)[number];

/** Stat gauges; each is reported as `<name>.count` and its high watermark `<name>.max`. */
export const STAT_NAMES = [
  'connections',
  'channels',
  'sessions',
  'topics',
  'suboptions',
  'subscribers',
  'subscriptions',
  'subscriptions.shared',
  'routes',
  'retained',
  // the rule engine's resources (EMQX's emqx_rule_engine registers this stat; the spec's example lists it)
  'resources',
] as const;

export type StatName = (typeof STAT_NAMES)[number];
