import { CODE } from '../../shared/result-codes.js';
import { ApiError } from './errors.js';

/**
 * A cluster store call of a configuration resource (apps, banned, ...): the store being away
 * is an RPC-class failure (101), as for the node registry.
 */
export async function stored<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(200, CODE.RPC_ERROR, `cluster store unavailable (${what}): ${(err as Error).message}`);
  }
}
