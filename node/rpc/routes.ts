/** The routes resource on this node (GET /api/v4/routes...): its share of the route table. */
import type { RouteRow } from '../../shared/api/routes.js';
import type { RpcHandlers } from '../../shared/rpc.js';
import { parseShare } from '../../shared/topic.js';
import type { Broker } from '../broker.js';

/** The route topics shown, sorted: a shared group's `$share/<group>/<filter>` shows as the plain filter, once, as EMQX lists route topics. */
function routeTopics(b: Broker): string[] {
  const topics = new Set<string>();
  for (const key of b.router.routeKeys()) {
    const share = parseShare(key);
    topics.add(share ? share.filter : key);
  }
  return [...topics].sort();
}

/**
 * The sorted topics, rebuilt only when a route appeared or went: the gateway pages through
 * a large table one slice per request, and sorting ~100,000 filters for each would cost
 * more than the slice.
 */
function cachedTopics(b: Broker): () => string[] {
  let version = -1;
  let topics: string[] = [];
  return () => {
    if (version !== b.router.routeVersion) {
      topics = routeTopics(b);
      version = b.router.routeVersion;
    }
    return topics;
  };
}

/** Whether sorted `a` holds `x` (binary search). */
function holds(a: string[], x: string): boolean {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return a[lo] === x;
}

export function routesHandlers(b: Broker): Pick<RpcHandlers, 'routes.count' | 'routes.list' | 'routes.lookup'> {
  const topics = cachedTopics(b);
  const row = (topic: string): RouteRow => ({ topic, node: b.nodeName });
  return {
    'routes.count': () => topics().length,
    'routes.list': ({ offset, limit }) => {
      const all = topics();
      const from = offset ?? 0;
      return all.slice(from, limit === undefined ? all.length : from + limit).map(row);
    },
    'routes.lookup': ({ topic }) => (holds(topics(), topic) ? [row(topic)] : []),
  };
}
