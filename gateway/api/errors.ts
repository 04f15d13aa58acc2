import { badParam as paramError, ParamError } from '../../shared/api/query-schema.js';
import { CODE } from '../../shared/result-codes.js';

/**
 * An API answer other than success: the HTTP status and the body's result code. EMQX
 * answers application errors (RPC failure, client not online, ...) with HTTP 200 and a
 * code, malformed requests with 400, unknown paths and nodes with 404.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A malformed request parameter (shared/api/query-schema.ts) as the API answers it: HTTP 400 with its code. */
export const fromParamError = (err: ParamError): ApiError => new ApiError(400, err.code, err.message);

/** The ApiError of a thrown value that is one (an ApiError, or a ParamError); undefined for anything else. */
export function asApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof ParamError) return fromParamError(err);
  return undefined;
}

export const missing = (name: string): ApiError => new ApiError(400, CODE.MISSING_PARAM, `missing parameter: ${name}`);
export const badParam = (name: string, why: string): ApiError => fromParamError(paramError(name, why));
export const notFound = (what: string): ApiError => new ApiError(404, CODE.NOT_FOUND, `${what} not found`);
