import type { ConfigOutcome } from '../../../shared/api/configs.js';
import { CODE } from '../../../shared/result-codes.js';
import type { ApiReply, Endpoint, Resource } from '../endpoint.js';
import { ApiError, notFound } from '../errors.js';
import { gather, nodeLists, nodePair } from '../node-pair.js';
import { bodySchema } from '../schema.js';

/**
 * /configs, /nodes/{node}/configs[/{app}], /nodes/{node}/plugin_configs/{plugin}: EMQX 3's
 * emqx_mgmt_api_configs over each node's configs.* RPC (node/rpc/configs.ts). A change is
 * put in force on the node at once, or refused when the option takes effect at start only;
 * it lasts until the node restarts, as EMQX 3's did.
 */

const VALUE = { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] };
const configBody = bodySchema<{ key: string; value?: string | number | boolean }>({
  type: 'object',
  required: ['key'],
  properties: { key: { type: 'string', minLength: 1 }, value: VALUE },
});
/** EMQX 3's plugin config update: the body is the settings themselves, key → value. */
const pluginBody = bodySchema<Record<string, string | number | boolean>>({ type: 'object', additionalProperties: VALUE });

/** A node's refusal: 404 for an unknown plugin, 400 for a bad value, else HTTP 200 with its code (102 read-only). */
function answer(outcomes: { node: string; data: ConfigOutcome }[]): ApiReply {
  for (const { node, data: o } of outcomes) {
    if (o.code === CODE.OK || !('message' in o)) continue;
    const status = o.code === CODE.NOT_FOUND ? 404 : o.code === CODE.BAD_PARAM ? 400 : 200;
    throw new ApiError(status, o.code, `${node}: ${o.message}`);
  }
  return {};
}

const [allConfigs, nodeConfigs] = nodePair({
  path: '/configs/',
  name: ['get_all_configs', 'get_all_configs'],
  descr: ['Get all configs', 'Get all configs of a node'],
  handle: nodeLists('configs.get', {}, 'config'),
});

const [updateConfig, updateNodeConfig] = nodePair({
  method: 'PUT',
  path: '/configs/:app',
  name: ['update_config', 'update_node_config'],
  descr: ['Update config of an application in the cluster', 'Update config of an application on a node'],
  handle: async ({ cluster, params, body }, node) => {
    const b = configBody(body);
    return answer(await gather(cluster, node, 'configs.update', { app: params.app!, changes: { [b.key]: b.value ?? '' } }));
  },
});

const pluginConfigs: Endpoint[] = [
  {
    method: 'GET',
    path: '/nodes/:node/plugin_configs/:plugin',
    name: 'get_plugin_configs',
    descr: 'Get configurations of a plugin on the node',
    handle: async ({ cluster, params }) => {
      const rows = await cluster.one(params.node!, 'configs.plugin', { plugin: params.plugin! });
      if (rows === null) throw notFound(`plugin ${params.plugin}`);
      return { data: rows };
    },
  },
  {
    method: 'PUT',
    path: '/nodes/:node/plugin_configs/:plugin',
    name: 'update_plugin_configs',
    descr: 'Update configurations of a plugin on the node',
    handle: async ({ cluster, params, body }) => {
      const node = params.node!;
      return answer([{ node, data: await cluster.one(node, 'configs.update', { plugin: params.plugin!, changes: pluginBody(body) }) }]);
    },
  },
];

export const v3Configs: Resource = [allConfigs, nodeConfigs, updateConfig, updateNodeConfig, ...pluginConfigs];
