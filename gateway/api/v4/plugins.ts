import type { ApiContext, Endpoint, Resource } from '../endpoint.js';
import { nodeLists, nodePair } from '../node-pair.js';
import { switchAnswer } from './switch-outcome.js';

/**
 * GET /plugins, /nodes/{node}/plugins and PUT /nodes/{node}/plugins/{plugin}/load|unload|reload,
 * as EMQX's emqx_mgmt_api_plugins: each node's plugins, and a switch of one plugin on one
 * node (kept by that node across restarts).
 */
const ops = [
  ['load', 'load_node_plugin', 'Load a plugin'],
  ['unload', 'unload_node_plugin', 'Unload a plugin'],
  ['reload', 'reload_node_plugin', 'Reload a plugin'],
] as const;

export const plugins: Resource = [
  ...nodePair({
    path: '/plugins',
    name: ['list_all_plugins', 'list_node_plugins'],
    descr: ['List all plugins in the cluster', 'List all plugins on a node'],
    handle: nodeLists('plugins.list', {}, 'plugins'),
  }),
  ...ops.map(
    ([op, name, descr]): Endpoint => ({
      method: 'PUT',
      path: `/nodes/:node/plugins/:plugin/${op}`,
      name,
      descr,
      handle: async ({ cluster, params }: ApiContext) => switchAnswer(await cluster.one(params.node!, `plugins.${op}`, { name: params.plugin! })),
    }),
  ),
];
