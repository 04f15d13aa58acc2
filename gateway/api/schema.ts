import { Ajv, type ErrorObject, type SchemaObject } from 'ajv';
import { CODE } from '../../shared/result-codes.js';
import { ApiError, missing } from './errors.js';

/* Request bodies (JSON), validated with ajv; query strings are parsed by shared/api/query-schema.ts. */

/**
 * One ajv instance for every body schema. `verbose` puts the failing (sub)schema on each
 * error, so a schema may carry `errorCode`: the result code for a wrong value there (116
 * for a QoS, say) instead of the default 108. `removeAdditional`: where a schema says
 * `additionalProperties: false`, fields it does not know are dropped rather than refused
 * (the MQTT 5 properties of a publish: others are ignored, as EMQX ignores them).
 */
const ajv = new Ajv({ allErrors: false, verbose: true, strict: true, removeAdditional: true });
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
