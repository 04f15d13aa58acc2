import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { ClusterStore } from '../shared/cluster/store.js';
import type { RpcTransport } from '../shared/cluster/rpc-transport.js';
import type { Logger } from '../shared/logger.js';
import { createApp } from './app.js';
import { ensureDefaultApp } from './auth.js';
import { ClusterClient } from './cluster-client.js';
import { RequestMetrics } from './metrics.js';

export interface GatewayOptions {
  transport: RpcTransport;
  store: ClusterStore;
  log: Logger;
  bind: string;
  port: number;
  rpcTimeoutMs: number;
  heartbeatTtlMs: number;
  /** refuse connections beyond this many (unset: no limit) */
  maxConnections?: number;
}

export interface RunningGateway {
  port: number;
  /** the gateway's own request counts and latencies (GET /metrics will export them) */
  requests: RequestMetrics;
  /** open HTTP connections */
  readonly connections: number;
  close(): Promise<void>;
}

/** Serves the management API over started transport and store; the default app exists afterwards. */
export async function startGateway(o: GatewayOptions): Promise<RunningGateway> {
  await ensureDefaultApp(o.store, o.log);
  const cluster = new ClusterClient(o.transport, o.store, { rpcTimeoutMs: o.rpcTimeoutMs, heartbeatTtlMs: o.heartbeatTtlMs });
  const requests = new RequestMetrics();
  const app = createApp({ cluster, store: o.store, log: o.log, observe: (endpoint, status, seconds) => requests.observe(endpoint, status, seconds) });
  // http.createServer rather than app.listen: Express 5 calls listen's callback on errors too
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.keepAliveTimeout = 65_000; // longer than typical load balancer idle timeouts
  if (o.maxConnections !== undefined) server.maxConnections = o.maxConnections;
  let connections = 0;
  server.on('connection', (socket) => {
    connections++;
    socket.once('close', () => connections--);
  });
  const port = (server.address() as AddressInfo).port;
  o.log.info({ port, address: o.bind }, 'api listening');
  return {
    port,
    requests,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
