/** The stats resource (GET /api/v4/stats): each node's EMQX gauges (counts and their maxima) by name. */
import { optional, type ParamShapes, type RpcOf } from './params-schema.js';

/** With `v3`, EMQX 3.x's gauges too (`sessions.persistent.count`, `.max`), which 4.x dropped. */
export const STATS_PARAMS = { 'stats.get': { v3: optional('bool') } } as const satisfies ParamShapes;

export type StatsRpc = RpcOf<typeof STATS_PARAMS, { 'stats.get': Record<string, number> }>;
