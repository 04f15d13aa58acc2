/**
 * The size limits of an API request, checked before anything else reads it: the query
 * string (STARLING_API_MAX_QUERY) and the body (STARLING_API_MAX_BODY, read as JSON
 * whatever its content type, as EMQX does). A request over either gets a clear JSON error
 * (413 for a body, 414 for a query string, with code 108 and the limit in the message);
 * what Node's own parser refuses (a request line or headers past its 16 KB) is answered
 * in gateway/client-error.ts.
 */
import express, { type RequestHandler } from 'express';
import { CODE } from '../../shared/result-codes.js';
import { ApiError } from './errors.js';

export interface RequestLimits {
  /** bytes of a request body */
  maxBodyBytes: number;
  /** bytes of the query string, after the `?` */
  maxQueryBytes: number;
}

/** 1 MB: a publish_batch of a few thousand small messages fits. */
export const DEFAULT_LIMITS: RequestLimits = { maxBodyBytes: 1024 * 1024, maxQueryBytes: 8192 };

/** Refuses a query string longer than `max` bytes (414), before it is parsed. */
export function queryLimit(max: number): RequestHandler {
  return (req, _res, next) => {
    const url = req.originalUrl;
    const q = url.indexOf('?');
    if (q >= 0 && Buffer.byteLength(url) - Buffer.byteLength(url.slice(0, q + 1)) > max) next(new ApiError(414, CODE.BAD_PARAM, `query string longer than ${max} bytes`));
    else next();
  };
}

/** Reads the body as JSON (any content type; `strict: false` takes any JSON value), up to `max` bytes. */
export const jsonBody = (max: number): RequestHandler => express.json({ limit: max, type: () => true, strict: false });

/**
 * The API's answer to a failure of reading the body (body-parser's errors carry a `type`):
 * 109 for a body that is not JSON, 413 past the limit, and the parser's own 4xx (an
 * unsupported charset or encoding, an aborted request) with its message.
 */
export function bodyError(err: unknown): ApiError | undefined {
  const e = err as { type?: unknown; status?: unknown; limit?: unknown; message?: unknown };
  if (typeof e?.type !== 'string') return undefined;
  if (e.type === 'entity.parse.failed') return new ApiError(400, CODE.BAD_JSON, 'request body is not valid JSON');
  if (e.type === 'entity.too.large') return new ApiError(413, CODE.BAD_PARAM, `request body larger than ${String(e.limit)} bytes`);
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new ApiError(e.status, CODE.BAD_PARAM, String(e.message));
  return undefined;
}
