/** The modules resource on this node (GET .../modules, PUT [/nodes/{node}]/modules/{module}/...): the feature registry under module names. */
import type { MODULES_PARAMS, ModuleRow } from '../../shared/api/modules.js';
import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';

export function modulesHandlers(b: Broker): Pick<RpcHandlers, keyof typeof MODULES_PARAMS> {
  const f = b.features;
  return {
    'modules.list': () => f.list('module').map(({ entry, active }): ModuleRow => ({ name: entry.name, description: entry.description, active })),
    'modules.load': ({ name }) => f.switch('module', name, 'load'),
    'modules.unload': ({ name }) => f.switch('module', name, 'unload'),
    'modules.reload': ({ name }) => f.switch('module', name, 'reload'),
    'modules.setClusterState': ({ name, active }) => f.setClusterState(name, active),
    'modules.apply': ({ name, active }) => f.apply(name, active),
  };
}
