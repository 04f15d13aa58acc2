import { ParamError, badParam } from '../../shared/api/query-schema.js';
import type { RESOURCES_PARAMS } from '../../shared/api/resources.js';
import { CODE } from '../../shared/result-codes.js';
import { RpcError, type RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';

/** The rule engine's resources on this node (GET /api/v4/resources, /resource_types): types, config checks, health. */
export function resourcesHandlers(b: Broker): Pick<RpcHandlers, keyof typeof RESOURCES_PARAMS> {
  return {
    'resources.types': () => b.resources.typeRows(),
    'resources.check': ({ type, config }) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(config);
      } catch {
        throw asRpc(badParam('config', 'is not JSON'));
      }
      try {
        return b.resources.check(type, parsed);
      } catch (err) {
        throw asRpc(err);
      }
    },
    'resources.status': ({ id }) => b.resources.status(id === undefined ? b.resources.ids() : [id]),
  };
}

/** A config fault answered with its code (108) and message, as the API shows it. */
function asRpc(err: unknown): unknown {
  if (err instanceof ParamError) return new RpcError(err.code, err.message);
  if (err instanceof Error) return new RpcError(CODE.BAD_PARAM, `bad parameter config: ${err.message}`);
  return err;
}
