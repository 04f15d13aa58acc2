import type { RpcMethod, RpcParams, RpcReply } from '../../shared/rpc.js';
import type { ClusterClient } from '../cluster-client.js';
import type { ApiContext, ApiReply, Endpoint, HttpMethod } from './endpoint.js';
import { notFound } from './errors.js';

/**
 * One endpoint in its two forms, as EMQX declares most of its resources: over the cluster
 * (`/clients`) and on one node (`/nodes/:node/clients`). The names and descriptions are
 * EMQX's, one pair each; `handle` gets the `:node` of the per-node form, undefined for the
 * cluster form.
 */
export interface NodePair {
  method?: HttpMethod;
  /** the cluster form's path, below /api/v4 */
  path: string;
  /** the per-node form's path: `/nodes/:node` + `path` unless given */
  nodePath?: string;
  name: readonly [cluster: string, node: string];
  descr: readonly [cluster: string, node: string];
  handle(ctx: ApiContext, node: string | undefined): Promise<ApiReply>;
}

/** The cluster form, then the per-node form (the order GET /api/v4 lists them in). */
export function nodePair(p: NodePair): [Endpoint, Endpoint] {
  const method = p.method ?? 'GET';
  return [
    { method, path: p.path, name: p.name[0], descr: p.descr[0], handle: (ctx) => p.handle(ctx, undefined) },
    { method, path: p.nodePath ?? `/nodes/:node${p.path}`, name: p.name[1], descr: p.descr[1], handle: (ctx) => p.handle(ctx, ctx.params.node!) },
  ];
}

/** Every live node's answer (node order), or with `node` that one node's (404 when it is not live). */
export async function gather<M extends RpcMethod>(cluster: ClusterClient, node: string | undefined, method: M, params: RpcParams<M>): Promise<{ node: string; data: RpcReply<M> }[]> {
  if (node === undefined) return cluster.all(method, params);
  return [{ node, data: await cluster.one(node, method, params) }];
}

/** The `:node` path parameter, known to be live; an unknown node is 404 before any RPC. */
export async function liveNode(cluster: ClusterClient, node: string): Promise<string> {
  if (!(await cluster.nodes()).includes(node)) throw notFound(`node ${node}`);
  return node;
}

/** The handle of a resource each node answers with one object: their array over the cluster, the object on one node. */
export function nodeObjects<M extends RpcMethod>(method: M, params: RpcParams<M>): NodePair['handle'] {
  return async ({ cluster }, node) => {
    const rows = (await gather(cluster, node, method, params)).map((r) => r.data);
    return { data: node === undefined ? rows : rows[0] };
  };
}

/** The handle of a resource each node answers with a list or an object: `[{node, <key>: it}]` over the cluster, it alone on one node (plugins, metrics). */
export function nodeLists<M extends RpcMethod>(method: M, params: RpcParams<M>, key: string): NodePair['handle'] {
  return async ({ cluster }, node) => {
    const answers = await gather(cluster, node, method, params);
    return { data: node === undefined ? answers.map((r) => ({ node: r.node, [key]: r.data })) : answers[0]!.data };
  };
}
