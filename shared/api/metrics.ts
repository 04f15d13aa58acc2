/** The metrics resource (GET /api/v4/metrics): each node's EMQX counters by name. */
import type { MetricName } from '../emqx-names.js';
import type { ParamShapes, RpcOf } from './params-schema.js';

export const METRICS_PARAMS = { 'metrics.get': {} } as const satisfies ParamShapes;

export type MetricsRpc = RpcOf<typeof METRICS_PARAMS, { 'metrics.get': Record<MetricName, number> }>;
