/**
 * The last word on every failure under the gateway's app: JSON with a result code, never
 * Express's default handler (HTML, and a stack trace outside production). The API's own
 * errors as they are, the body parser's and Express's 4xx as 400-range answers, and
 * anything else (a bug) as 500 "internal error", logged with its stack but never sent.
 */
import type { ErrorRequestHandler, Request, Response } from 'express';
import type { Logger } from '../shared/logger.js';
import { CODE } from '../shared/result-codes.js';
import { ApiError, asApiError } from './api/errors.js';
import { bodyError } from './api/limits.js';

/** Writes a failure the way every answer under /api looks: JSON with a result code. */
export function sendError(res: Response, err: ApiError): void {
  res.status(err.status).json({ code: err.code, message: err.message });
}

/** The ApiError any thrown value is answered with; a bug is logged. */
export function answerOf(err: unknown, log: Logger): ApiError {
  const known = asApiError(err) ?? bodyError(err);
  if (known) return known;
  // Express's own 4xx (a path parameter that is not valid percent-encoding, say)
  const e = err as { status?: unknown; message?: unknown };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new ApiError(e.status, CODE.BAD_PARAM, typeof e.message === 'string' ? e.message : 'bad request');
  log.error({ err }, 'API request failed');
  return new ApiError(500, CODE.UNKNOWN, 'internal error');
}

/**
 * The error handler of an app or router; `form` rewrites the answer (v3's codes and messages),
 * `seen` is told of every answer before it is sent (the lock-out counts refused passwords).
 */
export function jsonErrors(log: Logger, form: (e: ApiError) => ApiError = (e) => e, seen?: (e: ApiError, req: Request) => void): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const answer = answerOf(err, log);
    seen?.(answer, req);
    // half an answer is out: nothing can be said any more, only the connection ended
    if (res.headersSent) return void req.socket.destroy();
    sendError(res, form(answer));
  };
}
