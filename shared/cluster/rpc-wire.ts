/**
 * The RPC wire format both transports share, so that the in-process transport answers
 * exactly as NATS would: a request is the JSON text `{"method","params"}`, a reply the JSON
 * text of an RpcResult. Going through JSON text (not object passing) also means a handler
 * never shares mutable objects with its caller.
 */
import { CODE } from '../result-codes.js';
import { RpcError, type RpcResult } from '../rpc.js';
import type { RequestHandler } from './rpc-transport.js';

export function encodeRequest(method: string, params: unknown): string {
  return JSON.stringify({ method, params });
}

/** The failure callers see when a node could not be reached or did not answer. */
export function rpcFailure(node: string, reason: string): RpcError {
  return new RpcError(CODE.RPC_ERROR, `rpc to ${node} failed: ${reason}`, node);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs `handler` on a request body and returns the reply body. Never throws: an RpcError
 * keeps its code, anything else is 102 (unknown error) with its message.
 */
export async function answer(handler: RequestHandler, body: string): Promise<string> {
  let result: RpcResult;
  try {
    const req = JSON.parse(body) as { method?: unknown; params?: unknown };
    if (typeof req !== 'object' || req === null || typeof req.method !== 'string') {
      throw new RpcError(CODE.UNKNOWN, 'malformed rpc request');
    }
    result = { ok: true, data: await handler(req.method, req.params) };
  } catch (err) {
    result =
      err instanceof RpcError
        ? { ok: false, code: err.code, message: err.message }
        : { ok: false, code: CODE.UNKNOWN, message: errorMessage(err) };
  }
  try {
    return JSON.stringify(result);
  } catch (err) {
    // e.g. a BigInt or a cycle in the handler's reply
    return JSON.stringify({ ok: false, code: CODE.UNKNOWN, message: `reply not serializable: ${errorMessage(err)}` });
  }
}

/** The reply's data, or its error as an RpcError naming the node. */
export function decodeResult(node: string, body: string): unknown {
  let res: RpcResult;
  try {
    res = JSON.parse(body) as RpcResult;
  } catch {
    throw rpcFailure(node, 'malformed reply');
  }
  if (typeof res !== 'object' || res === null) throw rpcFailure(node, 'malformed reply');
  if (res.ok === true) return res.data;
  if (res.ok === false && typeof res.code === 'number') throw new RpcError(res.code, String(res.message), node);
  throw rpcFailure(node, 'malformed reply');
}
