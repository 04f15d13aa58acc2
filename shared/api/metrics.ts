/**
 * The metrics resource (GET /api/v4/metrics): each node's EMQX counters by name; and
 * `metrics.scrape`, what a gateway's GET /metrics asks each node once per scrape: the
 * counters and the stats (gauges) in one reply, so a scrape costs one RPC per node.
 */
import type { MetricName, V3MetricName } from '../emqx-names.js';
import { optional, type ParamShapes, type RpcOf } from './params-schema.js';

/** `metrics.get` with `v3`: EMQX 3.x's own counters too (V3_METRIC_NAMES). */
export const METRICS_PARAMS = { 'metrics.get': { v3: optional('bool') }, 'metrics.scrape': {} } as const satisfies ParamShapes;

/** One node's counters and stats, as GET /api/v4/metrics and GET /api/v4/stats show them. */
export interface MetricsScrape {
  metrics: Record<MetricName, number>;
  stats: Record<string, number>;
}

export type MetricsRpc = RpcOf<typeof METRICS_PARAMS, { 'metrics.get': Record<MetricName, number> & Partial<Record<V3MetricName, number>>; 'metrics.scrape': MetricsScrape }>;
