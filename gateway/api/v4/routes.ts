import type { RouteRow } from '../../../shared/api/routes.js';
import type { Resource } from '../endpoint.js';
import { meta, paging } from '../params.js';

/**
 * GET /routes, /routes/{topic}: which nodes have subscribers for which filters (EMQX has no
 * per-node form). Rows are in node order, each node's sorted by topic; a page asks every
 * node for its count and only the nodes holding part of the page for their slice, so a
 * table of a million routes never crosses the network whole.
 */
export const routes: Resource = [
  {
    method: 'GET',
    path: '/routes',
    name: 'list_routes',
    descr: 'List routes',
    handle: async ({ cluster, query }) => {
      const { page, limit } = paging(query);
      const { rows, total } = await cluster.page<'routes.count', 'routes.list', RouteRow>('routes.count', 'routes.list', {}, page, limit);
      return { data: rows, meta: meta(page, limit, total, false) };
    },
  },
  {
    method: 'GET',
    path: '/routes/:topic',
    name: 'lookup_routes',
    descr: 'Lookup routes to a topic',
    // the topic is matched exactly, not as a filter, as EMQX looks up its route table
    handle: async ({ cluster, params }) => ({ data: (await cluster.all('routes.lookup', { topic: params.topic! })).flatMap((r) => r.data) }),
  },
];
