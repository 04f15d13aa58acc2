import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';

/** The listeners resource on this node (GET /api/v4/listeners): each listener's row. */
export function listenersHandlers(b: Broker): Pick<RpcHandlers, 'listeners.list'> {
  return { 'listeners.list': () => [...b.listeners, ...b.otherListeners].map((l) => l.info()) };
}
