import { badParam } from '../../shared/api/query-schema.js';
import type { ParamsSchema, ParamSpec } from './contracts.js';

/**
 * Checks a resource config or action params against its type's schema (contracts.ts), as
 * EMQX's emqx_rule_validator does: required params present, each of its declared type and
 * enum, defaults filled in. A fault throws the ParamError (108) naming the parameter; a
 * parameter the schema does not declare is one (a typo would otherwise pass silently).
 */
export function checkSchema(schema: ParamsSchema, given: unknown, where = 'config'): Record<string, unknown> {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw badParam(where, 'must be an object');
  const v = given as Record<string, unknown>;
  for (const name of Object.keys(v)) if (!Object.hasOwn(schema, name)) throw badParam(`${where}.${name}`, 'unknown parameter');
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    const value = v[name];
    if (value === undefined || value === null) {
      if (spec.required) throw badParam(`${where}.${name}`, 'required');
      if (spec.default !== undefined) out[name] = structuredClone(spec.default);
      continue;
    }
    checkOne(spec, value, `${where}.${name}`);
    out[name] = structuredClone(value);
  }
  return out;
}

function checkOne(spec: ParamSpec, value: unknown, at: string): void {
  const fault = typeFault(spec.type, value);
  if (fault) throw badParam(at, fault);
  if (spec.enum && !spec.enum.includes(value)) throw badParam(at, `${JSON.stringify(value)} is not one of ${spec.enum.map((e) => JSON.stringify(e)).join(', ')}`);
}

function typeFault(type: ParamSpec['type'], value: unknown): string | undefined {
  switch (type) {
    case 'string':
    case 'cfgselect':
      return typeof value === 'string' ? undefined : 'must be a string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'array':
      return Array.isArray(value) ? undefined : 'must be an array';
    case 'object':
    case 'file':
      return typeof value === 'object' && !Array.isArray(value) ? undefined : 'must be an object';
  }
}

/** A duration as EMQX's configs write it ("5s", "500ms", "1m", or a number of seconds) in ms; throws the 108 of `at` otherwise. */
export function durationMs(v: unknown, at: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v) : null;
  if (!m) throw badParam(at, `${JSON.stringify(v)} is not a duration (e.g. "5s", "500ms")`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}
