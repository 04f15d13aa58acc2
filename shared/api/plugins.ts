/**
 * The plugins resource (GET /api/v4/plugins, /nodes/{node}/plugins, PUT
 * /nodes/{node}/plugins/{plugin}/load|unload|reload): each node's switchable features under
 * EMQX's plugin names (node/features/catalog.ts). A switch acts on one node and is kept as
 * that node's feature_states record (shared/api/feature-states.ts), so it survives a restart.
 */
import type { ParamShapes, RpcOf } from './params-schema.js';

export type PluginType = 'auth' | 'bridge' | 'feature' | 'protocol';

/** One plugin of GET /api/v4/plugins, as the spec shows it. */
export interface PluginRow {
  name: string;
  version: string;
  description: string;
  active: boolean;
  type: PluginType;
}

/**
 * What a load, unload or reload came to on one node. EMQX answers its refusals (110
 * already loaded, 111 already unloaded, 102 the feature refused) with HTTP 200 and a code, so
 * the node answers them as data and the gateway writes the answer; an RpcError stays what
 * it is elsewhere (the RPC failed, 101). `changed`: whether the node's state changed.
 */
export type SwitchOutcome = { code: 0; changed: boolean } | { code: number; message: string };

export const PLUGINS_PARAMS = {
  'plugins.list': {},
  'plugins.load': { name: 'string' },
  'plugins.unload': { name: 'string' },
  'plugins.reload': { name: 'string' },
} as const satisfies ParamShapes;

export interface PluginsReplies {
  'plugins.list': PluginRow[];
  'plugins.load': SwitchOutcome;
  'plugins.unload': SwitchOutcome;
  'plugins.reload': SwitchOutcome;
}
export type PluginsRpc = RpcOf<typeof PLUGINS_PARAMS, PluginsReplies>;
