import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';

/** The stats resource on this node (GET /api/v4/stats): the EMQX gauges. */
export function statsHandlers(b: Broker): Pick<RpcHandlers, 'stats.get'> {
  return { 'stats.get': ({ v3 }) => (v3 ? b.stats.v3Object() : b.stats.toObject()) };
}
