/**
 * A node's configuration, as EMQX 3's /api/v3/configs and /plugin_configs show and change it:
 * the options of shared/config.ts's table with their values on that node, and for each
 * whether it can change while the node runs. Changes apply to that node's process only and
 * are not persisted (a restart reads the config file and environment again), as in EMQX 3.
 */
import { optional, type ParamShapes, type RpcOf } from './params-schema.js';

/** One option, in EMQX 3's field names (`datatpye` is spelt as EMQX 3 spells it). */
export interface ConfigRow {
  key: string;
  /** as the config file or environment would give it; '' when unset */
  value: string;
  /** EMQX 3's cuttlefish datatype: string, integer, float, flag or enum */
  datatpye: string;
  /** the application that owns it: emqx, or the plugin or module it configures */
  app: string;
  /** whether PUT /configs can change it while the node runs (the others take effect at start only) */
  runtime: boolean;
}

/** One setting of a plugin, in EMQX 3's shape. */
export interface PluginConfigRow {
  key: string;
  value: string;
  desc: string;
  /** whether the plugin refuses to load without it */
  required: boolean;
}

/** An update's answer: done, or refused with a result code (nothing changed then). */
export type ConfigOutcome = { code: 0 } | { code: number; message: string };

export const CONFIGS_PARAMS = {
  'configs.get': {},
  /** null: no plugin or module of that name on the node */
  'configs.plugin': { plugin: 'string' },
  /**
   * Sets options (key → value as text), all or none. `app`: each key must be that
   * application's (PUT /configs/{app}); `plugin`: each key must be one of that plugin's, and
   * the plugin, if loaded, is reloaded with them (PUT /plugin_configs/{plugin}).
   */
  'configs.update': { app: optional('string'), plugin: optional('string'), changes: { record: 'text' } },
} as const satisfies ParamShapes;

export interface ConfigsReplies {
  'configs.get': ConfigRow[];
  'configs.plugin': PluginConfigRow[] | null;
  'configs.update': ConfigOutcome;
}
export type ConfigsRpc = RpcOf<typeof CONFIGS_PARAMS, ConfigsReplies>;
