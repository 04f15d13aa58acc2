import type { RpcMethod } from '../../shared/rpc.js';
import type { ApiContext, ApiReply } from './endpoint.js';
import { meta, paging } from './params.js';
import { liveNode, parseQuery, type QuerySchema } from './schema.js';

/**
 * One page of a filtered list held by the nodes (clients, subscriptions), over the whole
 * cluster or, with `node`, one node: the query string is checked before any node is asked,
 * then the nodes count and slice (ClusterClient.page).
 */
export async function pagedList<Q>(
  { cluster, query: q }: ApiContext,
  schema: QuerySchema<Q>,
  countMethod: RpcMethod,
  listMethod: RpcMethod,
  node?: string,
): Promise<ApiReply> {
  const { page, limit } = paging(q);
  const { query, filtered } = parseQuery(schema, q);
  const nodes = node === undefined ? undefined : [await liveNode(cluster, node)];
  const { rows, total } = await cluster.page(countMethod, listMethod, { query } as never, page, limit, nodes);
  return { data: rows, meta: meta(page, limit, total, filtered) };
}
