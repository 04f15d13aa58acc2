import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import { metrics } from '../inspect.js';

/** GET /api/v4/metrics */
export function metricsHandlers(b: Broker): Pick<RpcHandlers, 'metrics.get'> {
  return { 'metrics.get': () => metrics(b) };
}
