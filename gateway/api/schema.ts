import { Ajv, type ErrorObject, type SchemaObject } from 'ajv';
import { CODE } from '../../shared/result-codes.js';
import type { ClusterClient } from '../cluster-client.js';
import { ApiError, badParam, missing, notFound } from './errors.js';
import { bool, integer } from './params.js';

/**
 * Query-string filters declared as data, as EMQX's management modules declare theirs: each
 * parameter's kind, from which the typed query is parsed. A value of the wrong kind is 400
 * with 108; parameters not in the schema are ignored, as EMQX ignores them.
 */
export type FieldKind = 'string' | 'int' | 'bool' | 'qos' | { enum: readonly string[] };

/** A schema covering every key of the query type `Q` (a key the type gains and the schema lacks fails the build). */
export type QuerySchema<Q> = { readonly [K in keyof Q]-?: FieldKind };

function parseField(name: string, kind: FieldKind, v: string): string | number | boolean {
  if (kind === 'string') return v;
  if (kind === 'int') return integer(name, v);
  if (kind === 'bool') return bool(name, v);
  if (kind === 'qos') {
    const qos = integer(name, v);
    // an integer that is no QoS level: EMQX's "bad QoS" rather than a malformed value
    if (qos < 0 || qos > 2) throw new ApiError(400, CODE.BAD_QOS, `bad parameter ${name}: ${qos} is not a QoS (0, 1 or 2)`);
    return qos;
  }
  if (!kind.enum.includes(v)) throw badParam(name, `"${v}" is not one of ${kind.enum.join(', ')}`);
  return v;
}

/** The query of `schema` found in `q`, typed, and whether any filter was given (then `meta.count` is -1). */
export function parseQuery<Q>(schema: QuerySchema<Q>, q: Record<string, unknown>): { query: Q; filtered: boolean } {
  const query: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(schema) as [string, FieldKind][]) {
    const v = q[name];
    if (v === undefined) continue;
    // the query parser gives an array for a repeated parameter: which one was meant is unknowable
    if (typeof v !== 'string') throw badParam(name, 'given more than once');
    query[name] = parseField(name, kind, v);
  }
  return { query: query as Q, filtered: Object.keys(query).length > 0 };
}

/** The `:node` path parameter, known to be live; an unknown node is 404 before any RPC. */
export async function liveNode(cluster: ClusterClient, node: string): Promise<string> {
  if (!(await cluster.nodes()).includes(node)) throw notFound(`node ${node}`);
  return node;
}

// ---- request bodies (JSON), validated with ajv ----

/**
 * One ajv instance for every body schema. `verbose` puts the failing (sub)schema on each
 * error, so a schema may carry `errorCode`: the result code for a wrong value there (116
 * for a QoS, say) instead of the default 108.
 */
const ajv = new Ajv({ allErrors: false, verbose: true, strict: true });
ajv.addKeyword({ keyword: 'errorCode', schemaType: 'number' });

/** The ApiError for ajv's first error: a missing required field is 107, anything else 108 (or the schema's `errorCode`). */
function bodyError(e: ErrorObject, where: string): ApiError {
  const at = (path: string): string => [where, ...path.split('/').filter(Boolean)].filter(Boolean).join('.') || 'body';
  if (e.keyword === 'required') {
    const field = (e.params as { missingProperty: string }).missingProperty;
    return missing(at(`${e.instancePath}/${field}`));
  }
  const code = (e.parentSchema as { errorCode?: number } | undefined)?.errorCode ?? CODE.BAD_PARAM;
  return new ApiError(400, code, `bad parameter ${at(e.instancePath)}: ${e.message ?? 'invalid'}`);
}

/**
 * A checker for JSON bodies of `schema`: returns the body typed as `T`, or throws the
 * ApiError (HTTP 400, 107 or 108) of its first fault. An absent body reads as `{}`, so a
 * POST without one is told which field is missing. `where` prefixes field names in messages
 * (`[2]` for the third item of a batch, say).
 */
export function bodySchema<T>(schema: SchemaObject): (body: unknown, where?: string) => T {
  const validate = ajv.compile(schema);
  return (body, where = '') => {
    const v = body === undefined ? {} : body;
    if (!validate(v)) throw bodyError(validate.errors![0]!, where);
    return v as T;
  };
}
