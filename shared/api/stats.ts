/** The stats resource (GET /api/v4/stats): each node's EMQX gauges (counts and their maxima) by name. */
import type { ParamShapes, RpcOf } from './params-schema.js';

export const STATS_PARAMS = { 'stats.get': {} } as const satisfies ParamShapes;

export type StatsRpc = RpcOf<typeof STATS_PARAMS, { 'stats.get': Record<string, number> }>;
