import { CODE } from '../../../shared/result-codes.js';
import type { ApiContext, ApiReply, Resource } from '../endpoint.js';
import { ApiError } from '../errors.js';
import { nodeLists, nodePair } from '../node-pair.js';
import { changed, switchAnswer } from './switch-outcome.js';

/**
 * GET /modules, /nodes/{node}/modules and PUT [/nodes/{node}]/modules/{module}/load|unload|reload,
 * as EMQX's emqx_modules_api. A per-node switch acts on that node and is kept as its record;
 * a cluster-wide load or unload is kept as the '*' record (replacing the nodes' own) and
 * applied on every live node before the answer, so the answer says what the nodes do: 101
 * naming a node that did not answer, 102 naming one whose module refused, 110/111 when
 * every node already had it so. A cluster-wide reload reloads on every node.
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

/** The cluster-wide form of `op` on module `name`. */
async function everywhere({ cluster }: ApiContext, op: Op, name: string): Promise<ApiReply> {
  let outcomes;
  if (op === 'reload') outcomes = await cluster.all('modules.reload', { name });
  else {
    const active = op === 'load';
    const [first] = await cluster.nodes();
    if (first === undefined) throw new ApiError(200, CODE.RPC_ERROR, 'no live node');
    switchAnswer(await cluster.one(first, 'modules.setClusterState', { name, active }));
    outcomes = await cluster.all('modules.apply', { name, active });
    if (outcomes.length > 0 && !outcomes.some((o) => changed(o.data) || o.data.code !== CODE.OK)) {
      throw new ApiError(200, active ? CODE.PLUGIN_LOADED : CODE.PLUGIN_UNLOADED, `module ${name} is already ${active ? 'loaded' : 'unloaded'} on every node`);
    }
  }
  for (const o of outcomes) switchAnswer(o.data, o.node);
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
