import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import { routes } from '../inspect.js';

/** GET /api/v4/routes: this node's share of the route table. */
export function routesHandlers(b: Broker): Pick<RpcHandlers, 'routes.list'> {
  return { 'routes.list': () => routes(b) };
}
