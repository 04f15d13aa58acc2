/**
 * The resources each node answers for itself (plugins, modules, listeners, alarms, metrics,
 * stats): GET /X answers one entry per node, `{"node": ..., "<key>": ...}`, and
 * GET /nodes/{node}/X that node's value alone, as the spec shows them. These read either
 * form into one shape, so that each command renders one table.
 */
import type { Ctx } from '../context.js';
import { CliError, EXIT } from '../errors.js';

const enc = encodeURIComponent;

/** The path of the cluster form, or of the per-node form when a node is given. */
export function nodePath(path: string, node: string | undefined): string {
  return node === undefined ? path : `/nodes/${enc(node)}${path}`;
}

function fail(path: string, what: string): never {
  throw new CliError(EXIT.UNREACHABLE, `GET /api/v4${path}: the answer's data is not ${what}`);
}

/** Each node's value of `key`: `{ node, value }` in node order, from either form. */
export async function perNode(ctx: Ctx, path: string, key: string, node: string | undefined): Promise<{ data: unknown; values: { node: string; value: unknown }[] }> {
  const p = nodePath(path, node);
  const { data } = await ctx.api.get(p);
  if (node !== undefined) return { data, values: [{ node, value: data }] };
  if (!Array.isArray(data)) fail(p, 'a list of nodes');
  const values = data.map((e: Record<string, unknown>) => {
    if (typeof e?.node !== 'string') fail(p, 'a list of nodes');
    return { node: e.node, value: e[key] };
  });
  return { data, values };
}

/** The rows of a per-node list (plugins, listeners, alarms), each with its node. */
export async function perNodeRows<R>(ctx: Ctx, path: string, key: string, node: string | undefined): Promise<{ data: unknown; rows: (R & { node: string })[] }> {
  const { data, values } = await perNode(ctx, path, key, node);
  const rows = values.flatMap(({ node: n, value }) => {
    if (!Array.isArray(value)) fail(nodePath(path, node), `a list of ${key}`);
    return value.map((r: R) => ({ ...r, node: n }));
  });
  return { data, rows };
}

/** The name → number maps of a per-node object (metrics, stats), each with its node. */
export async function perNodeMaps(ctx: Ctx, path: string, key: string, node: string | undefined): Promise<{ data: unknown; maps: { node: string; map: Record<string, unknown> }[] }> {
  const { data, values } = await perNode(ctx, path, key, node);
  const maps = values.map(({ node: n, value }) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(nodePath(path, node), `an object of ${key}`);
    return { node: n, map: value as Record<string, unknown> };
  });
  return { data, maps };
}
