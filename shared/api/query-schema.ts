/**
 * Query-string filters declared as data, as EMQX's management modules declare theirs: each
 * parameter's kind, from which the query's TypeScript type is derived and its values parsed
 * (gateway, from the query string) or checked (node, as they come off the RPC wire).
 * Parameters not in the schema are ignored by the gateway, as EMQX ignores them.
 */
import type { QoS } from '../message.js';
import { CODE } from '../result-codes.js';

/** The kind of one scalar field. `text`: a string, or a number or boolean read as its text. */
export type Scalar = 'string' | 'int' | 'bool' | 'qos' | 'text' | { readonly enum: readonly string[] };

/** A query: every field optional, each of a scalar kind. */
export type QuerySchema = { readonly [name: string]: Scalar };

/** The TypeScript type of a value of kind `K`. */
export type ScalarOf<K> = K extends 'string'
  ? string
  : K extends 'int'
    ? number
    : K extends 'bool'
      ? boolean
      : K extends 'qos'
        ? QoS
        : K extends 'text'
          ? string | number | boolean
          : K extends { readonly enum: readonly (infer E)[] }
            ? E
            : never;

/** The query type of a schema. */
export type QueryOf<S extends QuerySchema> = { -readonly [K in keyof S]?: ScalarOf<S[K]> };

/**
 * A request parameter that is missing or not of its kind: `code` is the EMQX result code
 * (107 missing, 108 wrong type or value, 116 a QoS out of range). The gateway answers it
 * with HTTP 400, a node with an RpcError of the same code.
 */
export class ParamError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const badParam = (name: string, why: string): ParamError => new ParamError(CODE.BAD_PARAM, `bad parameter ${name}: ${why}`);

export function parseInteger(name: string, v: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(v)) throw badParam(name, `"${v}" is not an integer`);
  const n = Number(v);
  if (n < min || n > max) throw badParam(name, `${n} is out of range`);
  return n;
}

export function parseBool(name: string, v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw badParam(name, `"${v}" is not true or false`);
}

function parseField(name: string, kind: Scalar, v: string): string | number | boolean {
  if (kind === 'string' || kind === 'text') return v;
  if (kind === 'int') return parseInteger(name, v);
  if (kind === 'bool') return parseBool(name, v);
  if (kind === 'qos') {
    const qos = parseInteger(name, v);
    // an integer that is no QoS level: EMQX's "bad QoS" rather than a malformed value
    if (qos < 0 || qos > 2) throw new ParamError(CODE.BAD_QOS, `bad parameter ${name}: ${qos} is not a QoS (0, 1 or 2)`);
    return qos;
  }
  if (!kind.enum.includes(v)) throw badParam(name, `"${v}" is not one of ${kind.enum.join(', ')}`);
  return v;
}

/** The query of `schema` found in a query string's parameters `q`, typed, and whether any filter was given (then `meta.count` is -1). */
export function parseQuery<S extends QuerySchema>(schema: S, q: Record<string, unknown>): { query: QueryOf<S>; filtered: boolean } {
  const query: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(schema)) {
    const v = q[name];
    if (v === undefined) continue;
    // the query parser gives an array for a repeated parameter: which one was meant is unknowable
    if (typeof v !== 'string') throw badParam(name, 'given more than once');
    query[name] = parseField(name, kind, v);
  }
  return { query: query as QueryOf<S>, filtered: Object.keys(query).length > 0 };
}

/** Whether a typed value is of kind `kind` (the node's check of what came over RPC). */
export function isScalar(kind: Scalar, v: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'int':
      return Number.isSafeInteger(v);
    case 'bool':
      return typeof v === 'boolean';
    case 'qos':
      return v === 0 || v === 1 || v === 2;
    case 'text':
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
    default:
      return typeof v === 'string' && kind.enum.includes(v);
  }
}

/** Whether the query has any condition (EMQX then reports the total count as -1). */
export function isFiltered<S extends QuerySchema>(schema: S, q: QueryOf<S>): boolean {
  for (const name in schema) if (q[name] !== undefined) return true;
  return false;
}
