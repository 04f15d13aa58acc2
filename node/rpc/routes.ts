/** The routes resource on this node (GET /api/v4/routes...): its share of the route table. */
import type { RouteRow } from '../../shared/api/routes.js';
import type { RpcHandlers } from '../../shared/rpc.js';
import { parseShare } from '../../shared/topic.js';
import type { Broker } from '../broker.js';

/**
 * The filters this node has subscribers for. A shared group's route key
 * `$share/<group>/<filter>` shows as the plain filter, once, as EMQX lists route topics.
 */
export function routeRows(b: Broker): RouteRow[] {
  const topics = new Set<string>();
  for (const key of b.router.routeKeys()) {
    const share = parseShare(key);
    topics.add(share ? share.filter : key);
  }
  return [...topics].sort().map((topic) => ({ topic, node: b.nodeName }));
}

export function routesHandlers(b: Broker): Pick<RpcHandlers, 'routes.list'> {
  return { 'routes.list': () => routeRows(b) };
}
