import { CODE } from '../../../shared/result-codes.js';
import type { ApiContext, Resource } from '../endpoint.js';
import { ApiError, notFound } from '../errors.js';

/**
 * GET /actions, GET /actions/{name}: the action types the rule engine offers (EMQX's
 * emqx_rule_engine_api), as a node declares them: they come with the broker and cannot be
 * added. Every node offers the same ones; one answers.
 */

/** A live node to ask (the first by name); 101 when none is up. */
export async function anyNode(ctx: ApiContext): Promise<string> {
  const node = (await ctx.cluster.nodes())[0];
  if (node === undefined) throw new ApiError(200, CODE.RPC_ERROR, 'no node is running');
  return node;
}

export const actions: Resource = [
  {
    method: 'GET',
    path: '/actions',
    name: 'list_actions',
    descr: 'List actions',
    handle: async (ctx) => ({ data: await ctx.cluster.one(await anyNode(ctx), 'rules.actions', {}) }),
  },
  {
    method: 'GET',
    path: '/actions/:action_name',
    name: 'show_action',
    descr: 'Show an action',
    handle: async (ctx) => {
      const a = (await ctx.cluster.one(await anyNode(ctx), 'rules.actions', {})).find((x) => x.name === ctx.params.action_name);
      if (a === undefined) throw notFound(`action ${ctx.params.action_name}`);
      return { data: a };
    },
  },
];
