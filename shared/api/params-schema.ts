/**
 * RPC parameters declared as data, one shape per method in the resource's shared file: the
 * method's TypeScript parameter type is derived from it, and a node checks what comes off
 * the wire against it before a handler sees it (a fault is ParamError 108, answered as an
 * RpcError with that code), rather than casting.
 */
import { badParam, isScalar, type QueryOf, type QuerySchema, type Scalar, type ScalarOf } from './query-schema.js';

/** The kind of one parameter: a scalar, optional, a query (every field optional), a nested object or a string-keyed record. */
export type Kind = Scalar | { readonly optional: Kind } | { readonly query: QuerySchema } | { readonly object: Shape } | { readonly record: Scalar };
export type Shape = { readonly [name: string]: Kind };

/** A parameter that may be left out. */
export const optional = <const K extends Kind>(kind: K): { readonly optional: K } => ({ optional: kind });

/** The TypeScript type of a parameter of kind `K`. */
export type ValueOf<K> = K extends { readonly optional: infer I }
  ? ValueOf<I>
  : K extends { readonly query: infer S extends QuerySchema }
    ? QueryOf<S>
    : K extends { readonly object: infer S extends Shape }
      ? ShapeOf<S>
      : K extends { readonly record: infer R }
        ? Record<string, ScalarOf<R>>
        : ScalarOf<K>;

type OptionalKeys<S> = { [K in keyof S]: S[K] extends { readonly optional: unknown } ? K : never }[keyof S];
type Flat<T> = { [K in keyof T]: T[K] };

/** The TypeScript type of parameters of shape `S`. */
export type ShapeOf<S extends Shape> = Flat<
  { -readonly [K in Exclude<keyof S, OptionalKeys<S>>]: ValueOf<S[K]> } & { -readonly [K in OptionalKeys<S>]?: ValueOf<S[K]> }
>;

/** Each method's parameter shape, by method name. */
export type ParamShapes = { readonly [method: string]: Shape };

const at = (where: string, name: string): string => (where ? `${where}.${name}` : name);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Throws the ParamError of a value that is not of `kind`. */
function checkKind(kind: Kind, v: unknown, name: string): void {
  if (typeof kind === 'object' && 'optional' in kind) {
    if (v !== undefined) checkKind(kind.optional, v, name);
    return;
  }
  if (v === undefined) throw badParam(name, 'missing');
  if (typeof kind === 'string' || 'enum' in kind) {
    if (!isScalar(kind, v)) throw badParam(name, `${JSON.stringify(v)} is not ${typeof kind === 'string' ? `of kind ${kind}` : `one of ${kind.enum.join(', ')}`}`);
  } else if ('object' in kind) {
    checkParams(kind.object, v, name);
  } else if ('query' in kind) {
    if (!isObject(v)) throw badParam(name, 'must be an object');
    for (const [field, value] of Object.entries(v)) {
      const k = Object.hasOwn(kind.query, field) ? kind.query[field] : undefined;
      if (k === undefined) throw badParam(at(name, field), 'unknown field');
      if (value !== undefined) checkKind(k, value, at(name, field));
    }
  } else {
    if (!isObject(v)) throw badParam(name, 'must be an object');
    for (const [field, value] of Object.entries(v)) checkKind(kind.record, value, at(name, field));
  }
}

/** Throws the ParamError (108) of the first fault of `v` as parameters of `shape`; a parameter the shape lacks is one. */
export function checkParams(shape: Shape, v: unknown, where = ''): void {
  if (!isObject(v)) throw badParam(where || 'params', 'must be an object');
  for (const name of Object.keys(v)) if (!Object.hasOwn(shape, name)) throw badParam(at(where, name), 'unknown parameter');
  for (const [name, kind] of Object.entries(shape)) checkKind(kind, v[name], at(where, name));
}

/**
 * A resource's RPC methods, method → [params, reply]: the parameter types derived from its
 * shapes `P`, the replies `R` declared beside them (one per method of `P`).
 */
export type RpcOf<P extends ParamShapes, R extends { [M in keyof P]: unknown }> = { -readonly [M in keyof P]: [ShapeOf<P[M]>, R[M]] };
