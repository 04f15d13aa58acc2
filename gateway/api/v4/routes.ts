import type { RouteRow } from '../../../shared/api/routes.js';
import type { ApiContext, Resource } from '../endpoint.js';
import { pageOf, paging } from '../params.js';

/**
 * Every node's routes, in node order. Route lists are one row per filter per node, small
 * enough to gather whole and page here rather than count first.
 */
async function allRoutes({ cluster }: ApiContext): Promise<RouteRow[]> {
  return (await cluster.all('routes.list', {})).flatMap((r) => r.data);
}

/** GET /routes, /routes/{topic}: which nodes have subscribers for which filters (EMQX has no per-node form). */
export const routes: Resource = [
  {
    method: 'GET',
    path: '/routes',
    name: 'list_routes',
    descr: 'List routes',
    handle: async (ctx) => {
      const { page, limit } = paging(ctx.query);
      return pageOf(await allRoutes(ctx), page, limit);
    },
  },
  {
    method: 'GET',
    path: '/routes/:topic',
    name: 'lookup_routes',
    descr: 'Lookup routes to a topic',
    // the topic is matched exactly, not as a filter, as EMQX looks up its route table
    handle: async (ctx) => ({ data: (await allRoutes(ctx)).filter((r) => r.topic === ctx.params.topic) }),
  },
];
