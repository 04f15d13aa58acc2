import type { Broker } from '../../node/broker.js';
import { composeBroker } from '../../node/core/compose.js';
import type { Hooks } from '../../node/core/hooks.js';
import { dispatchRpc, rpcHandlers } from '../../node/rpc/index.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import type { RpcMethod, RpcParams, RpcReply } from '../../shared/rpc.js';

/**
 * A broker in this test process (for tests that need its objects, not only its sockets):
 * MQTT over TCP on a free port of 127.0.0.1, no WebSocket, no $SYS timers, and only these
 * settings: nothing from the developer's shell (a NATS_URL, say) leaks in.
 */
export async function startInProcessBroker(nodeName: string, opts: { log?: Logger; hooks?: Hooks } = {}): Promise<{ broker: Broker; port: number }> {
  const env = {
    STARLING_MQTT_PORT: '0',
    STARLING_WS_PORT: '-1',
    STARLING_BIND: '127.0.0.1',
    STARLING_SYS_INTERVAL_MS: '0',
    STARLING_SYS_HEARTBEAT_MS: '0',
    STARLING_NODE_NAME: nodeName,
  };
  const broker = composeBroker(loadConfig(env, []), opts.log ?? createLogger('silent'), opts.hooks);
  const ports = await broker.start();
  return { broker, port: ports['mqtt:tcp']! };
}

/** Calls `broker`'s RPC handlers as a transport would: params and reply through JSON, params checked by dispatchRpc. */
export function rpcCaller(broker: Broker): <M extends RpcMethod>(method: M, params: RpcParams<M>) => Promise<RpcReply<M>> {
  const handlers = rpcHandlers(broker, { 'session.takeover': () => null, 'session.conflict': () => ({ kept: false }) });
  return async (method, params) => {
    const reply = await dispatchRpc(handlers, method, JSON.parse(JSON.stringify(params)));
    return JSON.parse(JSON.stringify(reply ?? null));
  };
}
