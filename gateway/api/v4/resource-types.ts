import type { ResourceTypeRow } from '../../../shared/api/resources.js';
import { CODE } from '../../../shared/result-codes.js';
import type { ApiContext, Resource } from '../endpoint.js';
import { ApiError, notFound } from '../errors.js';

/**
 * GET /resource_types[/{name}], EMQX's emqx_rule_engine_api: the resource types are the
 * nodes' (node/rules/resource-types/), the same on each, so any live node answers them.
 */

/** Any live node: the types and config checks are the same on each. */
export async function anyNode(ctx: ApiContext): Promise<string> {
  const nodes = await ctx.cluster.nodes();
  if (nodes.length === 0) throw new ApiError(200, CODE.RPC_ERROR, 'no live node to ask');
  return nodes[0]!;
}

async function typeRows(ctx: ApiContext): Promise<ResourceTypeRow[]> {
  return ctx.cluster.call(await anyNode(ctx), 'resources.types', {});
}

export const resourceTypes: Resource = [
  {
    method: 'GET',
    path: '/resource_types',
    name: 'list_resource_types',
    descr: 'List all resource types',
    handle: async (ctx) => ({ data: await typeRows(ctx) }),
  },
  {
    method: 'GET',
    path: '/resource_types/:resource_type_name',
    name: 'show_resource_type',
    descr: 'Show a resource type',
    handle: async (ctx) => {
      const t = (await typeRows(ctx)).find((r) => r.name === ctx.params.resource_type_name);
      if (!t) throw notFound(`resource type ${ctx.params.resource_type_name}`);
      return { data: t };
    },
  },
];
