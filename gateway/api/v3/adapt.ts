import type { ApiContext, ApiReply, Endpoint, HttpMethod, Resource } from '../endpoint.js';

/*
 * The v3 API is a layer over v4's endpoints and the same RPC: a v3 endpoint adapts the
 * request (v3's names for body fields and parameters), lets the v4 endpoint or the shared
 * helpers answer it, and maps the answer to v3's field names. Nothing here reads node state.
 */

/** The v4 endpoint of `table` named `name`; a name the table lacks is a bug, thrown when the module loads. */
export function v4(table: Resource, name: string): Endpoint {
  const e = table.find((x) => x.name === name);
  if (!e) throw new Error(`no v4 endpoint ${name}`);
  return e;
}

/** v4's paging meta in v3's form: page, limit and count (no hasnext). */
export function v3Meta(meta: Record<string, unknown>): Record<string, unknown> {
  return { page: meta.page, limit: meta.limit, count: meta.count };
}

/** A list answer with each row mapped and its paging meta, if any, in v3's form. */
export function mapRows<T>(reply: ApiReply, row: (r: T) => unknown): ApiReply {
  const out: ApiReply = { data: (reply.data as T[]).map(row) };
  if (reply.meta) out.meta = v3Meta(reply.meta);
  return out;
}

/** A v3 endpoint: its method (the v4 one's unless given), path, name and description as the v3 spec lists them. */
export interface Over {
  method?: HttpMethod;
  path: string;
  name: string;
  descr: string;
  /** the request as the v4 endpoint takes it */
  request?: (ctx: ApiContext) => ApiContext;
  /** the v4 answer as v3 gives it (as is when absent) */
  reply?: (reply: ApiReply, ctx: ApiContext) => ApiReply;
}

/** A v3 endpoint answered by the v4 endpoint `e`: no behaviour of its own. */
export function over(e: Endpoint, o: Over): Endpoint {
  return {
    method: o.method ?? e.method,
    path: o.path,
    name: o.name,
    descr: o.descr,
    handle: async (ctx) => {
      const reply = await e.handle(o.request ? o.request(ctx) : ctx);
      return o.reply ? o.reply(reply, ctx) : reply;
    },
  };
}

/** An object without its `node` (v3's per-node answers leave it out: the path names the node). */
export function withoutNode<T extends { node?: unknown }>(row: T): Omit<T, 'node'> {
  const { node: _node, ...rest } = row;
  return rest;
}

/** EMQX 3.x prints an unset field as the atom `undefined`. */
export const UNDEFINED = 'undefined';
