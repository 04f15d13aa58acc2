/** The plugins resource on this node (GET .../plugins, PUT /nodes/{node}/plugins/{plugin}/...): the feature registry under plugin names. */
import type { PLUGINS_PARAMS, PluginRow } from '../../shared/api/plugins.js';
import { compareStrings } from '../../shared/cluster/config-kinds.js';
import type { RpcHandlers } from '../../shared/rpc.js';
import { VERSION } from '../../shared/version.js';
import type { Broker } from '../broker.js';

export function pluginsHandlers(b: Broker): Pick<RpcHandlers, keyof typeof PLUGINS_PARAMS> {
  const f = b.features;
  return {
    // a plugin's version is the node's: they are one build; by name, as EMQX lists them
    'plugins.list': () =>
      f
        .list('plugin')
        .map(({ entry, active }): PluginRow => ({ name: entry.name, version: VERSION, description: entry.description, active, type: entry.type ?? 'feature' }))
        .sort((a, b) => compareStrings(a.name, b.name)),
    'plugins.load': ({ name }) => f.switch('plugin', name, 'load'),
    'plugins.unload': ({ name }) => f.switch('plugin', name, 'unload'),
    'plugins.reload': ({ name }) => f.switch('plugin', name, 'reload'),
  };
}
