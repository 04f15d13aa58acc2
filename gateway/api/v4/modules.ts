import { CODE } from '../../../shared/result-codes.js';
import type { ApiContext, ApiReply, Resource } from '../endpoint.js';
import { ApiError, notFound } from '../errors.js';
import { nodeLists, nodePair } from '../node-pair.js';
import { switchAnswer } from './switch-outcome.js';

/**
 * GET /modules, /nodes/{node}/modules and PUT [/nodes/{node}]/modules/{module}/load|unload|reload,
 * as EMQX's emqx_modules_api. A per-node switch acts on that node and is kept as its record;
 * a cluster-wide load or unload is kept as the '*' record (replacing the nodes' own) and
 * applied on every live node before the answer, so the answer says what the nodes do: 101
 * naming a node that did not answer, 102 naming one whose module refused. A cluster-wide
 * reload reloads on every node.
 */
type Op = 'load' | 'unload' | 'reload';

const NAMES: Record<Op, readonly [cluster: string, node: string]> = {
  load: ['load_module', 'load_node_module'],
  unload: ['unload_module', 'unload_node_module'],
  reload: ['reload_module', 'reload_node_module'],
};
const DESCR: Record<Op, readonly [cluster: string, node: string]> = {
  load: ['load a module in the cluster', 'Load a module'],
  unload: ['Unload a module in the cluster', 'Unload a module'],
  reload: ['Reload a module in the cluster', 'Reload a module'],
};

/**
 * The cluster-wide form of `op` on module `name`. A load or unload that every node already
 * has is 110/111 and writes nothing; otherwise the '*' record is written and every node
 * switched (a node may already have applied the record by the time it is asked: that is
 * no refusal).
 */
async function everywhere({ cluster }: ApiContext, op: Op, name: string): Promise<ApiReply> {
  if (op === 'reload') {
    for (const o of await cluster.all('modules.reload', { name })) switchAnswer(o.data, o.node);
    return {};
  }
  const active = op === 'load';
  const lists = await cluster.all('modules.list', {});
  const states = lists.map((l) => l.data.find((m) => m.name === name)?.active);
  if (states.length === 0) throw new ApiError(200, CODE.RPC_ERROR, 'no live node');
  if (states.includes(undefined)) throw notFound(`module ${name}`);
  if (states.every((s) => s === active)) {
    throw new ApiError(200, active ? CODE.PLUGIN_LOADED : CODE.PLUGIN_UNLOADED, `module ${name} is already ${active ? 'loaded' : 'unloaded'} on every node`);
  }
  switchAnswer(await cluster.one(lists[0]!.node, 'modules.setClusterState', { name, active }));
  for (const o of await cluster.all('modules.apply', { name, active })) switchAnswer(o.data, o.node);
  return {};
}

export const modules: Resource = [
  ...nodePair({
    path: '/modules',
    name: ['list_all_modules', 'list_node_modules'],
    descr: ['List all modules in the cluster', 'List all modules on a node'],
    handle: nodeLists('modules.list', {}, 'modules'),
  }),
  ...(['load', 'unload', 'reload'] as const).flatMap((op) =>
    nodePair({
      method: 'PUT',
      path: `/modules/:module/${op}`,
      nodePath: `/nodes/:node/modules/:module/${op}`,
      name: NAMES[op],
      descr: DESCR[op],
      handle: async (ctx, node) => {
        const name = ctx.params.module!;
        if (node === undefined) return everywhere(ctx, op, name);
        return switchAnswer(await ctx.cluster.one(node, `modules.${op}`, { name }));
      },
    }),
  ),
];
