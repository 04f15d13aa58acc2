import { CODE } from '../../../shared/result-codes.js';
import { ApiError } from '../errors.js';

/**
 * v4's failures as v3 answers them, in one place: the same HTTP status and a body
 * `{"code", "message"}`, where EMQX 3.x's result code or message differs from 4.x's
 * (its messages were Erlang atoms: `already_started`, `session_not_found`). The spec's own
 * examples: a plugin loaded twice is `{"code":102,"message":"already_started"}`, a subscribe
 * for a client not online `{"code":112,"message":"session_not_found"}`.
 */
const V3_ERRORS: Readonly<Record<number, { code: number; message: string }>> = {
  [CODE.PLUGIN_LOADED]: { code: CODE.UNKNOWN, message: 'already_started' },
  [CODE.PLUGIN_UNLOADED]: { code: CODE.UNKNOWN, message: 'not_started' },
  [CODE.CLIENT_NOT_ONLINE]: { code: CODE.CLIENT_NOT_ONLINE, message: 'session_not_found' },
};

export function v3Error(err: ApiError): ApiError {
  const v3 = V3_ERRORS[err.code];
  return v3 ? new ApiError(err.status, v3.code, v3.message) : err;
}
