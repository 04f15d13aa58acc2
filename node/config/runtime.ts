/**
 * Changing a running node's configuration (EMQX 3's PUT /api/v3/configs and
 * /plugin_configs): which options belong to which plugin or module, which of them can change
 * while the node runs, and how each change is put in force. The rest take effect only at
 * start (listeners, cluster links, files read once...) and are refused as read-only.
 *
 * Changes live in this process only (broker.cfg is changed in place): a restart reads the
 * config file and environment again, as EMQX 3 forgot `emqx_ctl set` on restart.
 */
import { ConfigError, parseOption, type Config, type ConfigKey } from '../../shared/config.js';
import { configuredAcl } from '../access/index.js';
import type { AlarmThresholds } from '../../shared/api/alarms.js';
import { thresholdsFault } from '../alarms/monitors.js';
import type { Broker } from '../broker.js';
import type { Namespace } from '../features/registry.js';
import { checkWebHookConfig, webHookSettings } from '../features/web-hook/settings.js';
import { parseBytesRateLimit, parsePublishRateLimit } from '../protocol/rate-limits.js';

/** The plugin or module whose settings an option is (EMQX 3's `app`); the others are emqx's own. */
const OWNERS: Partial<Record<ConfigKey, string>> = {
  webHookUrl: 'emqx_web_hook',
  webHookHeaders: 'emqx_web_hook',
  webHookEncoding: 'emqx_web_hook',
  webHookRules: 'emqx_web_hook',
  webHookPoolSize: 'emqx_web_hook',
  webHookTimeoutMs: 'emqx_web_hook',
  webHookMaxQueue: 'emqx_web_hook',
  usersFile: 'emqx_auth_username',
  retainAvailable: 'emqx_retainer',
  presenceEvents: 'emqx_mod_presence',
  aclFile: 'emqx_mod_acl_internal',
  aclNoMatch: 'emqx_mod_acl_internal',
  rewriteRules: 'emqx_mod_rewrite',
  autoSubscribe: 'emqx_mod_subscription',
};

/** Settings a plugin will not load without (EMQX 3's `required`). */
const REQUIRED: ReadonlySet<ConfigKey> = new Set<ConfigKey>(['webHookUrl']);

export const EMQX_APP = 'emqx';

export const ownerOf = (key: ConfigKey): string => OWNERS[key] ?? EMQX_APP;
export const requiredByPlugin = (key: ConfigKey): boolean => REQUIRED.has(key);

/**
 * A group of options put in force together: `check` refuses a candidate configuration
 * (throwing, with the message the API shows) before anything changes, `apply` puts the
 * already-changed broker.cfg in force.
 */
interface Applier {
  check?(b: Broker, next: Config, keys: readonly ConfigKey[]): void;
  apply(b: Broker, keys: readonly ConfigKey[]): void | Promise<void>;
}

const feature = (b: Broker, ns: Namespace, name: string) => b.features.find(ns, name)?.switches.feature;

/** Read where they are used: changing broker.cfg is all it takes. */
const readLive: Applier = { apply: () => undefined };

const anonymous: Applier = {
  apply: (b) => {
    b.auth.allowAnonymous = b.cfg.allowAnonymous;
  },
};

/** aclNoMatch is part of the rule set: built again as emqx_mod_acl_internal builds it in its state now. */
const aclNoMatch: Applier = {
  check: (b, next) => {
    if (feature(b, 'module', 'emqx_mod_acl_internal')?.active) configuredAcl(next);
  },
  apply: async (b) => {
    const f = feature(b, 'module', 'emqx_mod_acl_internal');
    if (!f) return;
    // loaded: reread the rules with the new default; unloaded: the empty rule set of the new default
    if (f.active) await f.reload?.();
    else await f.unload();
  },
};

/** The alarm monitors' threshold each watermark option sets. */
const ALARM_FIELDS: Partial<Record<ConfigKey, keyof AlarmThresholds>> = {
  alarmSysmemHighWatermark: 'sysmemHighWatermark',
  alarmProcmemHighWatermark: 'procmemHighWatermark',
  alarmCpuHighWatermark: 'cpuHighWatermark',
  alarmCpuLowWatermark: 'cpuLowWatermark',
  alarmConnsHighWatermark: 'connsHighWatermark',
};

/** The thresholds `keys` set in `cfg`: only those, so that the ones changed by the alarms.configure RPC stay. */
function thresholdChanges(cfg: Config, keys: readonly ConfigKey[]): Partial<AlarmThresholds> {
  const out: Partial<AlarmThresholds> = {};
  for (const k of keys) {
    const field = ALARM_FIELDS[k];
    if (field) out[field] = cfg[k] as number;
  }
  return out;
}

const alarms: Applier = {
  check: (b, next, keys) => {
    const fault = thresholdsFault({ ...b.alarmMonitors.thresholds, ...thresholdChanges(next, keys) });
    if (fault) throw new ConfigError(fault);
  },
  apply: (b, keys) => {
    b.alarmMonitors.configure(thresholdChanges(b.cfg, keys));
  },
};

/** An option's value in force: the alarm monitors' for a watermark (alarms.configure may have set it), else broker.cfg's. */
export function valueInForce(b: Broker, key: ConfigKey): Config[ConfigKey] {
  const field = ALARM_FIELDS[key];
  return field ? b.alarmMonitors.thresholds[field] : b.cfg[key];
}

/** The web hook reads its settings when loaded: a loaded one is reloaded with them (EMQX 3's ensure_reload_plugin). */
const webHook: Applier = {
  check: (b, next) => {
    checkWebHookConfig(next);
    if (feature(b, 'plugin', 'emqx_web_hook')?.active) webHookSettings(next);
  },
  apply: async (b) => {
    if (!feature(b, 'plugin', 'emqx_web_hook')?.active) return;
    const o = await b.features.switch('plugin', 'emqx_web_hook', 'reload');
    if (o.code !== 0) throw new ConfigError('message' in o ? o.message : `emqx_web_hook reload failed (${o.code})`);
  },
};

/** Read when a client connects: clients connecting after the change get the new limit. */
const rateLimits: Applier = {
  check: (_b, next) => {
    parsePublishRateLimit(next.publishRateLimit);
    parseBytesRateLimit(next.bytesRateLimit);
  },
  apply: () => undefined,
};

/** The options that can change at runtime, each with how it is put in force. */
const RUNTIME: Partial<Record<ConfigKey, Applier>> = {
  // read when a session is created: new sessions get the new limits
  maxInflight: readLive,
  maxMqueue: readLive,
  // read by the once-a-second sweep
  keepaliveBackoff: readLive,
  retryIntervalMs: readLive,
  publishRateLimit: rateLimits,
  bytesRateLimit: rateLimits,
  allowAnonymous: anonymous,
  aclNoMatch,
  alarmSysmemHighWatermark: alarms,
  alarmProcmemHighWatermark: alarms,
  alarmCpuHighWatermark: alarms,
  alarmCpuLowWatermark: alarms,
  alarmConnsHighWatermark: alarms,
  webHookUrl: webHook,
  webHookHeaders: webHook,
  webHookEncoding: webHook,
  webHookRules: webHook,
  webHookPoolSize: webHook,
  webHookTimeoutMs: webHook,
  webHookMaxQueue: webHook,
};

export const changeableAtRuntime = (key: ConfigKey): boolean => RUNTIME[key] !== undefined;

/** Why a change was refused: `readOnly` for an option that takes effect at start only. */
export class ConfigRefused extends Error {
  constructor(
    message: string,
    readonly readOnly = false,
  ) {
    super(message);
  }
}

/**
 * Sets `changes` (option → value as text) on this node, all or none: every value is parsed
 * as the config file's would be and every affected group checks the resulting configuration
 * before broker.cfg changes; then each group puts it in force once. Throws ConfigRefused
 * for an unknown or read-only option, ConfigError for a bad value.
 */
export async function updateConfig(b: Broker, changes: Record<string, string | number | boolean>, isAllowed: (key: ConfigKey) => string | undefined): Promise<void> {
  const parsed: Partial<Record<ConfigKey, unknown>> = {};
  const groups = new Map<Applier, ConfigKey[]>();
  for (const [k, raw] of Object.entries(changes)) {
    if (!Object.hasOwn(b.cfg, k)) throw new ConfigRefused(`unknown config key ${k}`);
    const key = k as ConfigKey;
    const refusal = isAllowed(key);
    if (refusal !== undefined) throw new ConfigRefused(refusal);
    const applier = RUNTIME[key];
    if (!applier) throw new ConfigRefused(`${key} is read-only: it takes effect at start only (set it in the config file or environment)`, true);
    parsed[key] = parseOption(key, raw);
    groups.set(applier, [...(groups.get(applier) ?? []), key]);
  }
  const next = { ...b.cfg, ...parsed } as Config;
  for (const [g, keys] of groups) g.check?.(b, next, keys);
  Object.assign(b.cfg, parsed);
  for (const [g, keys] of groups) await g.apply(b, keys);
}
