import type { SwitchOutcome } from '../../../shared/api/plugins.js';
import { CODE } from '../../../shared/result-codes.js';
import type { ApiReply } from '../endpoint.js';
import { ApiError } from '../errors.js';

/**
 * The answer to a plugin or module switch on one node: `{"code":0}`, or EMQX's refusal with
 * HTTP 200 (110 already loaded, 111 already unloaded, 102 the feature refused, 101 the
 * store away); an unknown plugin or module is 404.
 */
export function switchAnswer(o: SwitchOutcome, node?: string): ApiReply {
  if (o.code === CODE.OK) return {};
  const message = 'message' in o ? o.message : `code ${o.code}`;
  throw new ApiError(o.code === CODE.NOT_FOUND ? 404 : 200, o.code, node === undefined ? message : `${node}: ${message}`);
}

