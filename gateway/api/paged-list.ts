import { parseQuery, type QuerySchema } from '../../shared/api/query-schema.js';
import type { RpcMethod } from '../../shared/rpc.js';
import type { ApiContext, ApiReply } from './endpoint.js';
import { liveNode } from './node-pair.js';
import { meta, paging } from './params.js';

/**
 * One page of a filtered list held by the nodes (clients, subscriptions), over the whole
 * cluster or, with `node`, one node: the query string is checked against the resource's
 * schema before any node is asked, then the nodes count and slice (ClusterClient.page).
 */
export async function pagedList(
  { cluster, query: q }: ApiContext,
  schema: QuerySchema,
  countMethod: RpcMethod,
  listMethod: RpcMethod,
  node: string | undefined,
  /** the v3 layer's: further parameters of both methods (`v3: true`) and conditions always applied, which do not count as a filter */
  fixed: { params?: Record<string, unknown>; query?: Record<string, unknown> } = {},
): Promise<ApiReply> {
  const { page, limit } = paging(q);
  const { query, filtered } = parseQuery(schema, q);
  const nodes = node === undefined ? undefined : [await liveNode(cluster, node)];
  const { rows, total } = await cluster.page(countMethod, listMethod, { ...fixed.params, query: { ...query, ...fixed.query } } as never, page, limit, nodes);
  return { data: rows, meta: meta(page, limit, total, filtered) };
}
