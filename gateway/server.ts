import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { ClusterStore } from '../shared/cluster/store.js';
import type { RpcTransport } from '../shared/cluster/rpc-transport.js';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import { createApp } from './app.js';
import { ensureDefaultApp } from './auth.js';
import { ensureDefaultUser } from './dashboard-users.js';
import { ClusterClient } from './cluster-client.js';
import { GatewayMetrics, type RequestMetrics } from './metrics.js';
import { SharedCache } from './prometheus/cache.js';
import { metricsHandler } from './prometheus/route.js';
import { clusterScraper, type ClusterScrape } from './prometheus/scrape.js';

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
  /** GET /metrics: how long a scrape round is reused, how long it waits for each node, whether it needs an app's credentials (shared/config.ts: metricsCacheMs, metricsTimeoutMs, metricsAuth) */
  metricsCacheMs?: number;
  metricsTimeoutMs?: number;
  metricsAuth?: boolean;
}

/** The gateway's settings from the config (a gateway's or a standalone node's). */
export function gatewaySettings(cfg: Config): Omit<GatewayOptions, 'transport' | 'store' | 'log'> {
  return {
    bind: cfg.bind,
    port: cfg.apiPort,
    rpcTimeoutMs: cfg.rpcTimeoutMs,
    heartbeatTtlMs: cfg.heartbeatTtlMs,
    metricsCacheMs: cfg.metricsCacheMs,
    metricsTimeoutMs: cfg.metricsTimeoutMs,
    metricsAuth: cfg.metricsAuth,
  };
}

export interface RunningGateway {
  port: number;
  /** the gateway's own request counts and latencies (GET /metrics exports them) */
  requests: RequestMetrics;
  /** the gateway's own registry: requests, RPCs, process */
  metrics: GatewayMetrics;
  /** the cluster's metrics and stats per node, fetched at most once per metricsCacheMs: what GET /metrics shows, for any other reader too */
  scrapes: SharedCache<ClusterScrape>;
  /** open HTTP connections */
  readonly connections: number;
  close(): Promise<void>;
}

/** Serves the management API over started transport and store; the default app and dashboard user exist afterwards. */
export async function startGateway(o: GatewayOptions): Promise<RunningGateway> {
  await ensureDefaultApp(o.store, o.log);
  await ensureDefaultUser(o.store, o.log);
  const metrics = new GatewayMetrics();
  const { requests } = metrics;
  const cluster = new ClusterClient(o.transport, o.store, { rpcTimeoutMs: o.rpcTimeoutMs, heartbeatTtlMs: o.heartbeatTtlMs, observe: metrics.observeRpc });
  const scrapes = new SharedCache(clusterScraper(cluster, o.metricsTimeoutMs ?? 2000), o.metricsCacheMs ?? 1000);
  const app = createApp({
    cluster,
    store: o.store,
    log: o.log,
    observe: (endpoint, status, seconds) => requests.observe(endpoint, status, seconds),
    metrics: { handler: metricsHandler(scrapes, metrics.registry), auth: o.metricsAuth ?? false },
  });
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
    metrics,
    scrapes,
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
