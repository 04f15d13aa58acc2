/** This node's configuration (GET/PUT /api/v3/configs..., /nodes/{node}/plugin_configs/{plugin}). */
import type { CONFIGS_PARAMS, ConfigOutcome, ConfigRow, PluginConfigRow } from '../../shared/api/configs.js';
import { ConfigError, optionSpecs, type ConfigKey, type OptionSpec } from '../../shared/config.js';
import { CODE } from '../../shared/result-codes.js';
import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import { changeableAtRuntime, ConfigRefused, ownerOf, requiredByPlugin, updateConfig, valueInForce } from '../config/runtime.js';

/** EMQX 3's cuttlefish names of the option kinds. */
const DATATYPE: Record<OptionSpec['kind'], string> = { string: 'string', int: 'integer', float: 'float', bool: 'flag', enum: 'enum' };

/** A value in force, as the config file or environment would give it ('' for unset). */
const text = (b: Broker, key: ConfigKey): string => {
  const v = valueInForce(b, key);
  return v === undefined ? '' : String(v);
};

function refusal(err: unknown): ConfigOutcome {
  // a bad value is the request's fault (108); unknown or read-only keys are EMQX 3's config errors (102)
  if (err instanceof ConfigError) return { code: CODE.BAD_PARAM, message: err.message };
  if (err instanceof ConfigRefused) return { code: CODE.UNKNOWN, message: err.message };
  throw err;
}

export function configsHandlers(b: Broker): Pick<RpcHandlers, keyof typeof CONFIGS_PARAMS> {
  const pluginKeys = (plugin: string): ConfigKey[] => optionSpecs().filter(([k]) => ownerOf(k) === plugin).map(([k]) => k);
  const known = (plugin: string): boolean => b.features.find('plugin', plugin) !== undefined || b.features.find('module', plugin) !== undefined;
  return {
    'configs.get': () =>
      optionSpecs().map(([key, spec]): ConfigRow => ({ key, value: text(b, key), datatpye: DATATYPE[spec.kind], app: ownerOf(key), runtime: changeableAtRuntime(key) })),
    'configs.plugin': ({ plugin }) => {
      if (!known(plugin)) return null;
      const specs = new Map(optionSpecs());
      return pluginKeys(plugin).map((key): PluginConfigRow => ({ key, value: text(b, key), desc: specs.get(key)!.help, required: requiredByPlugin(key) }));
    },
    'configs.update': async ({ app, plugin, changes }) => {
      if (plugin !== undefined && !known(plugin)) return { code: CODE.NOT_FOUND, message: `plugin ${plugin} not found` };
      const owner = plugin ?? app;
      try {
        await updateConfig(b, changes, (key) => (owner === undefined || ownerOf(key) === owner ? undefined : `${key} is not a config of ${owner} (it is ${ownerOf(key)}'s)`));
      } catch (err) {
        return refusal(err);
      }
      b.log.info({ changes: Object.keys(changes), app: owner }, 'configuration changed at runtime');
      return { code: CODE.OK };
    },
  };
}
