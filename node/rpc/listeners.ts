import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import { listeners } from '../inspect.js';

/** GET /api/v4/listeners */
export function listenersHandlers(b: Broker): Pick<RpcHandlers, 'listeners.list'> {
  return { 'listeners.list': () => listeners(b) };
}
