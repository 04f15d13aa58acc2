/**
 * Everything a node answers over RPC. Each resource's module (node/rpc/<resource>.ts) shows
 * the node's state as the EMQX API shows it (field names and types as the v4 spec), as plain
 * functions over the Broker. Here their handlers are assembled into one RpcHandlers, beside
 * the dispatch the transport's request handler calls, which checks the parameters against
 * the method's shape (shared/api/<resource>.ts) before the handler runs.
 */
import { checkParams } from '../../shared/api/params-schema.js';
import { ParamError } from '../../shared/api/query-schema.js';
import { CODE } from '../../shared/result-codes.js';
import { RPC_PARAMS, RpcError, type RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import { aclCacheHandlers } from './acl-cache.js';
import { alarmsHandlers } from './alarms.js';
import { brokersHandlers } from './brokers.js';
import { clientsHandlers } from './clients.js';
import { configsHandlers } from './configs.js';
import { listenersHandlers } from './listeners.js';
import { metricsHandlers } from './metrics.js';
import { modulesHandlers } from './modules.js';
import { mqttHandlers } from './mqtt.js';
import { nodesHandlers } from './nodes.js';
import { pluginsHandlers } from './plugins.js';
import { routesHandlers } from './routes.js';
import { statsHandlers } from './stats.js';
import { subscriptionsHandlers } from './subscriptions.js';
import { topicMetricsHandlers } from './topic-metrics.js';
import { resourcesHandlers } from './resources.js';
import { telemetryHandlers } from './telemetry.js';
import { rulesHandlers } from './rules.js';

/** Every method of the contract; `extra` is what the cluster layer answers itself (session takeover and conflicts). */
export function rpcHandlers(b: Broker, extra: Pick<RpcHandlers, 'session.takeover' | 'session.conflict'>): RpcHandlers {
  return {
    ...brokersHandlers(b),
    ...nodesHandlers(b),
    ...clientsHandlers(b),
    ...aclCacheHandlers(b),
    ...subscriptionsHandlers(b),
    ...routesHandlers(b),
    ...mqttHandlers(b),
    ...metricsHandlers(b),
    ...statsHandlers(b),
    ...listenersHandlers(b),
    ...pluginsHandlers(b),
    ...modulesHandlers(b),
    ...alarmsHandlers(b),
    ...topicMetricsHandlers(b),
    ...resourcesHandlers(b),
    ...telemetryHandlers(b),
    ...rulesHandlers(b),
    ...configsHandlers(b),
    ...extra,
  };
}

/**
 * Calls the handler of `method` with `params` as they came off the wire. An unknown method
 * is an RpcError 404, parameters not of the method's shape an RpcError 108; a handler's
 * errors, RpcErrors included, reach the caller unchanged.
 */
export async function dispatchRpc(handlers: RpcHandlers, method: string, params: unknown): Promise<unknown> {
  // own properties only: "toString" or "__proto__" are not methods
  if (!Object.hasOwn(handlers, method) || !Object.hasOwn(RPC_PARAMS, method)) throw new RpcError(CODE.NOT_FOUND, `unknown method ${method}`);
  const m = method as keyof RpcHandlers;
  const checked = params ?? {};
  try {
    checkParams(RPC_PARAMS[m], checked);
  } catch (err) {
    if (err instanceof ParamError) throw new RpcError(err.code, `${method}: ${err.message}`);
    throw err;
  }
  const handler = handlers[m] as (p: unknown) => unknown;
  return await handler(checked);
}
