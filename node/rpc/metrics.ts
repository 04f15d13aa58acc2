import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';

/** The metrics resource on this node (GET /api/v4/metrics): the EMQX counters. */
export function metricsHandlers(b: Broker): Pick<RpcHandlers, 'metrics.get'> {
  return { 'metrics.get': () => b.metrics.toObject() };
}
