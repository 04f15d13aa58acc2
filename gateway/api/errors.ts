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

export const missing = (name: string): ApiError => new ApiError(400, CODE.MISSING_PARAM, `missing parameter: ${name}`);
export const badParam = (name: string, why: string): ApiError => new ApiError(400, CODE.BAD_PARAM, `bad parameter ${name}: ${why}`);
export const notFound = (what: string): ApiError => new ApiError(404, CODE.NOT_FOUND, `${what} not found`);
