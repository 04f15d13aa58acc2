/**
 * The modules resource (GET /api/v4/modules, /nodes/{node}/modules, PUT
 * [/nodes/{node}]/modules/{module}/load|unload|reload): each node's switchable features under
 * EMQX's module names (node/features/catalog.ts). A per-node switch is that node's
 * feature_states record; a cluster-wide one is the '*' record (shared/api/feature-states.ts),
 * which every node applies.
 */
import type { ParamShapes, RpcOf } from './params-schema.js';
import type { SwitchOutcome } from './plugins.js';

/** One module of GET /api/v4/modules, as the spec shows it. */
export interface ModuleRow {
  name: string;
  description: string;
  active: boolean;
}

export const MODULES_PARAMS = {
  'modules.list': {},
  /** per node: switches this node and keeps it as this node's record */
  'modules.load': { name: 'string' },
  'modules.unload': { name: 'string' },
  'modules.reload': { name: 'string' },
  /** cluster-wide, asked of one node: writes the '*' record and drops the feature's node records */
  'modules.setClusterState': { name: 'string', active: 'bool' },
  /** cluster-wide, asked of every node after setClusterState: switches the node now, writing nothing */
  'modules.apply': { name: 'string', active: 'bool' },
} as const satisfies ParamShapes;

export interface ModulesReplies {
  'modules.list': ModuleRow[];
  'modules.load': SwitchOutcome;
  'modules.unload': SwitchOutcome;
  'modules.reload': SwitchOutcome;
  'modules.setClusterState': SwitchOutcome;
  'modules.apply': SwitchOutcome;
}
export type ModulesRpc = RpcOf<typeof MODULES_PARAMS, ModulesReplies>;
