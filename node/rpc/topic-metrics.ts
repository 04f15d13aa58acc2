import type { TOPIC_METRICS_PARAMS } from '../../shared/api/topic-metrics.js';
import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';

/** The topic metrics module on this node (GET /api/v4/topic-metrics...): its state and counters. */
export function topicMetricsHandlers(b: Broker): Pick<RpcHandlers, keyof typeof TOPIC_METRICS_PARAMS> {
  return {
    'topicMetrics.loaded': () => b.topicMetrics.active,
    'topicMetrics.list': ({ topic }) => b.topicMetrics.rows(topic),
  };
}
