/**
 * How rule SQL values convert and compare, as EMQX 4.x's rule runtime: a payload is text
 * until a path goes into it (then it is decoded as JSON, once per event), a number compared
 * with a string compares with the string's number, `+` of strings concatenates.
 */

export type Value = unknown;

/** A value as text (EMQX's str/1): JSON for maps and lists. */
export function str(v: Value): string {
  if (v === undefined || v === null) return 'undefined';
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A number, or throws: EMQX's number conversion fails the rule for a value that is none. */
export function num(v: Value): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  const s = typeof v === 'string' ? v.trim() : Buffer.isBuffer(v) ? v.toString('utf8').trim() : undefined;
  if (s !== undefined && s !== '') {
    const n = Number(s);
    if (!Number.isNaN(n)) return n;
  }
  throw new TypeError(`bad number: ${str(v)}`);
}

/** Maps and lists under a path of a value: a string (a payload) is decoded as JSON first. */
export function field(v: Value, key: string): Value {
  if (typeof v === 'string' || Buffer.isBuffer(v)) v = decodeJson(v);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  return (v as Record<string, unknown>)[key];
}

/** `v[i]`: 1-based as EMQX's, negative from the end; a string key on a map is a key. */
export function index(v: Value, i: Value): Value {
  if (typeof v === 'string' || Buffer.isBuffer(v)) v = decodeJson(v);
  if (typeof i === 'string') return field(v, i);
  if (!Array.isArray(v) || typeof i !== 'number') return undefined;
  return i > 0 ? v[i - 1] : i < 0 ? v[v.length + i] : undefined;
}

/** JSON text decoded, or undefined if it is not JSON (a path into it then finds nothing). */
export function decodeJson(v: string | Buffer): Value {
  try {
    return JSON.parse(typeof v === 'string' ? v : v.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** EMQX's `=` and `!=`: numbers against numeric strings numerically, otherwise by value. */
export function equal(a: Value, b: Value): boolean {
  if (typeof a === 'number' && typeof b === 'string') return a === Number(b);
  if (typeof a === 'string' && typeof b === 'number') return Number(a) === b;
  if (a === b) return true;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

/** Ordering for `<`, `>`, ...: numbers (numeric strings too) numerically, strings by code unit. */
export function compare(a: Value, b: Value): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const x = num(a);
  const y = num(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** EMQX's truthiness in WHERE: only `true` (and the string "true") passes. */
export function truthy(v: Value): boolean {
  return v === true || v === 'true';
}
