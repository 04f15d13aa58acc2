import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import { stats } from '../inspect.js';

/** GET /api/v4/stats */
export function statsHandlers(b: Broker): Pick<RpcHandlers, 'stats.get'> {
  return { 'stats.get': () => stats(b) };
}
