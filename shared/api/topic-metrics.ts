/**
 * The topic-metrics resource (GET/POST/DELETE /api/v4/topic-metrics, /topic-metrics/{topic}),
 * EMQX's emqx_mod_topic_metrics: the registered topics are cluster configuration (config
 * kind 'topic_metrics', shared/cluster/config-kinds.ts); every node counts the messages of
 * each one that it sees (node/features/topic-metrics.ts) and the gateway sums the nodes.
 */
import { optional, type ParamShapes, type RpcOf } from './params-schema.js';

/** EMQX's limit on registered topics (emqx_mod_topic_metrics' MAX_TOPICS). */
export const TOPIC_METRICS_MAX = 512;

/** A registered topic, as the store keeps it; `create_time` is epoch ms. */
export interface TopicMetricsRecord {
  topic: string;
  create_time: number;
}

/** The TopicMetricsRecord in `v` (fields copied, extras dropped), or undefined if it is not one. */
export function asTopicMetricsRecord(v: unknown): TopicMetricsRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.topic !== 'string' || r.topic.length === 0 || typeof r.create_time !== 'number' || !Number.isFinite(r.create_time)) return undefined;
  return { topic: r.topic, create_time: r.create_time };
}

/**
 * The counters of one topic, EMQX's names, in the order of the spec's example; each is
 * reported as `<name>.rate` (messages per second, a moving average updated every second)
 * and `<name>.count`.
 */
export const TOPIC_METRIC_NAMES = [
  'messages.qos2.out',
  'messages.qos2.in',
  'messages.qos1.out',
  'messages.qos1.in',
  'messages.qos0.out',
  'messages.qos0.in',
  'messages.out',
  'messages.in',
  'messages.dropped',
] as const;

/** Every key of a topic's metrics in the API, in TOPIC_METRIC_NAMES order. */
export const TOPIC_METRIC_KEYS: readonly string[] = TOPIC_METRIC_NAMES.flatMap((n) => [`${n}.rate`, `${n}.count`]);

/** `<name>.count` and `<name>.rate` of every TOPIC_METRIC_NAMES entry. */
export type TopicMetricValues = Record<string, number>;

export interface TopicMetricsRow {
  topic: string;
  metrics: TopicMetricValues;
}

export const TOPIC_METRICS_PARAMS = {
  /** whether the module is loaded on this node */
  'topicMetrics.loaded': {},
  /** the node's counters of every registered topic, or of `topic` alone */
  'topicMetrics.list': { topic: optional('string') },
} as const satisfies ParamShapes;

export type TopicMetricsRpc = RpcOf<
  typeof TOPIC_METRICS_PARAMS,
  {
    'topicMetrics.loaded': boolean;
    /** null while the module is unloaded on this node */
    'topicMetrics.list': TopicMetricsRow[] | null;
  }
>;
