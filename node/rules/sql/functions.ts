import { createHash } from 'node:crypto';
import { topicMatches } from '../../../shared/topic.js';
import { decodeJson, num, str, type Value } from './values.js';

/**
 * The built-in functions of the rule SQL (EMQX 4.x's emqx_rule_funcs), by lower-case name,
 * each with the number of arguments it takes. A call to an unknown function, or with the
 * wrong number of arguments, is refused when the rule is created.
 */
export interface SqlFunction {
  min: number;
  max: number;
  fn: (...args: Value[]) => Value;
  /** its value changes with time, not only with its arguments (the clock) */
  volatile?: boolean;
}

const f = (min: number, max: number, fn: (...args: Value[]) => Value): SqlFunction => ({ min, max, fn });
const s1 = (fn: (s: string) => Value): SqlFunction => f(1, 1, (v) => fn(str(v)));
const n1 = (fn: (n: number) => Value): SqlFunction => f(1, 1, (v) => fn(num(v)));
const list = (v: Value): Value[] => {
  if (Array.isArray(v)) return v;
  throw new TypeError(`not a list: ${str(v)}`);
};

const TIME_UNITS: Record<string, number> = { second: 1000, millisecond: 1, microsecond: 0.001, nanosecond: 0.000001 };

/** Epoch ms in `unit` (EMQX's second, millisecond, microsecond, nanosecond). */
function inUnit(ms: number, unit: Value): number {
  const d = TIME_UNITS[unit === undefined ? 'millisecond' : str(unit)];
  if (d === undefined) throw new TypeError(`bad time unit: ${str(unit)}`);
  return Math.floor(ms / d);
}

/** RFC 3339 in local time with its offset, as EMQX's now_rfc3339 ("2021-01-01T12:00:00+08:00"); fractions by unit. */
function rfc3339(ms: number, unit: Value = 'second'): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const local = new Date(ms + off * 60000).toISOString();
  const frac = unit === 'millisecond' ? local.slice(19, 23) : '';
  const sign = off >= 0 ? '+' : '-';
  const hh = String(Math.floor(Math.abs(off) / 60)).padStart(2, '0');
  const mm = String(Math.abs(off) % 60).padStart(2, '0');
  return `${local.slice(0, 19)}${frac}${sign}${hh}:${mm}`;
}

function int(v: Value): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = num(v);
  return n < 0 ? Math.ceil(n) : Math.floor(n);
}

function bool(v: Value): boolean {
  if (v === true || v === 'true' || v === 1) return true;
  if (v === false || v === 'false' || v === 0) return false;
  throw new TypeError(`bad boolean: ${str(v)}`);
}

const hash = (alg: string) => s1((s) => createHash(alg).update(s).digest('hex'));

export const FUNCTIONS: Record<string, SqlFunction> = {
  // strings
  lower: s1((s) => s.toLowerCase()),
  upper: s1((s) => s.toUpperCase()),
  trim: s1((s) => s.trim()),
  ltrim: s1((s) => s.trimStart()),
  rtrim: s1((s) => s.trimEnd()),
  reverse: s1((s) => [...s].reverse().join('')),
  strlen: s1((s) => [...s].length),
  concat: f(2, Infinity, (...a) => a.map(str).join('')),
  // 0-based start, as EMQX's substr/2,3
  substr: f(2, 3, (s, start, len) => {
    const chars = [...str(s)];
    const from = num(start);
    return chars.slice(from, len === undefined ? undefined : from + num(len)).join('');
  }),
  // EMQX's split drops the empty parts ("/a/b" by "/" is ["a","b"])
  split: f(2, 2, (s, sep) => str(s).split(str(sep)).filter((p) => p !== '')),
  replace: f(3, 3, (s, from, to) => str(s).split(str(from)).join(str(to))),
  regex_match: f(2, 2, (s, re) => new RegExp(str(re)).test(str(s))),
  regex_replace: f(3, 3, (s, re, to) => str(s).replace(new RegExp(str(re), 'g'), str(to))),
  pad: f(2, 4, (s, n, dir, ch) => {
    const c = ch === undefined ? ' ' : str(ch);
    const d = dir === undefined ? 'trailing' : str(dir);
    return d === 'leading' ? str(s).padStart(num(n), c) : str(s).padEnd(num(n), c);
  }),
  // conversions
  str: f(1, 1, str),
  int: f(1, 1, int),
  float: n1((n) => n),
  bool: f(1, 1, bool),
  json_decode: f(1, 1, (v) => {
    const d = decodeJson(typeof v === 'string' || Buffer.isBuffer(v) ? v : str(v));
    if (d === undefined) throw new TypeError(`not JSON: ${str(v)}`);
    return d;
  }),
  json_encode: f(1, 1, (v) => JSON.stringify(v ?? null)),
  base64_encode: s1((s) => Buffer.from(s).toString('base64')),
  base64_decode: s1((s) => Buffer.from(s, 'base64').toString('utf8')),
  md5: hash('md5'),
  sha: hash('sha1'),
  sha256: hash('sha256'),
  // maths
  abs: n1(Math.abs),
  round: n1(Math.round),
  floor: n1(Math.floor),
  ceil: n1(Math.ceil),
  sqrt: n1(Math.sqrt),
  exp: n1(Math.exp),
  log: n1(Math.log),
  log10: n1(Math.log10),
  power: f(2, 2, (a, b) => num(a) ** num(b)),
  // type tests
  is_null: f(1, 1, (v) => v === undefined || v === null),
  is_not_null: f(1, 1, (v) => v !== undefined && v !== null),
  is_str: f(1, 1, (v) => typeof v === 'string'),
  is_num: f(1, 1, (v) => typeof v === 'number'),
  is_int: f(1, 1, (v) => Number.isInteger(v)),
  is_float: f(1, 1, (v) => typeof v === 'number' && !Number.isInteger(v)),
  is_bool: f(1, 1, (v) => typeof v === 'boolean'),
  is_map: f(1, 1, (v) => typeof v === 'object' && v !== null && !Array.isArray(v)),
  is_array: f(1, 1, (v) => Array.isArray(v)),
  // lists and maps
  nth: f(2, 2, (n, l) => list(l)[num(n) - 1]),
  first: f(1, 1, (l) => list(l)[0]),
  last: f(1, 1, (l) => list(l).at(-1)),
  length: f(1, 1, (l) => (typeof l === 'string' ? [...l].length : list(l).length)),
  sublist: f(2, 3, (a, b, c) => (c === undefined ? list(b).slice(0, num(a)) : list(a).slice(num(b) - 1, num(b) - 1 + num(c)))),
  contains: f(2, 2, (x, l) => list(l).some((e) => e === x)),
  map_get: f(2, 3, (k, m, dflt) => (typeof m === 'object' && m !== null && Object.hasOwn(m, str(k)) ? (m as Record<string, unknown>)[str(k)] : dflt)),
  map_put: f(3, 3, (k, v, m) => ({ ...(typeof m === 'object' && m !== null ? m : {}), [str(k)]: v })),
  // topics: the n-th level (1-based), as nth(n, split(topic, '/')) keeping empty levels
  topic_level: f(2, 2, (t, n) => str(t).split('/')[num(n) - 1]),
  topic_match: f(2, 2, (t, filter) => topicMatches(str(filter), str(t))),
  // time
  now_timestamp: { ...f(0, 1, (unit) => inUnit(Date.now(), unit)), volatile: true },
  now_rfc3339: { ...f(0, 1, (unit) => rfc3339(Date.now(), unit)), volatile: true },
  unix_ts_to_rfc3339: f(1, 2, (ts, unit) => rfc3339(num(ts) * (TIME_UNITS[unit === undefined ? 'second' : str(unit)] ?? 1000), unit ?? 'second')),
  rfc3339_to_unix_ts: f(1, 2, (s, unit) => inUnit(Date.parse(str(s)), unit ?? 'second')),
};
