import { listenOn, type ListenerInfo } from './listener.js';

/** A standalone node's management API as the listeners API shows it (EMQX lists it as `http:management`, `https:management` over TLS). */
export function managementListener(bind: string, maxConns: number, server: { readonly port: number; readonly connections: number; readonly https?: boolean }): ListenerInfo {
  return {
    info: () => ({
      protocol: server.https ? 'https:management' : 'http:management',
      listen_on: listenOn(bind, server.port),
      acceptors: 1,
      max_conns: maxConns,
      current_conns: server.connections,
      // HTTP connections end for no MQTT reason
      shutdown_count: [],
    }),
  };
}
