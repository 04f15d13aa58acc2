import { ConfigError } from '../../shared/config.js';

/**
 * The features' JSON settings (rules, topic lists) parsed with errors that name the setting
 * and the entry's position, e.g. `rewriteRules[2] must be an object {...}`.
 */
export function jsonList(raw: string, setting: string, shape: string): Record<string, unknown>[] {
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`${setting} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(list)) throw new ConfigError(`${setting} must be a JSON array of ${shape}`);
  return list.map((e: unknown, i) => {
    if (!e || typeof e !== 'object' || Array.isArray(e)) throw new ConfigError(`${setting.split(' ')[0]}[${i}] must be an object ${shape}`);
    return e as Record<string, unknown>;
  });
}
