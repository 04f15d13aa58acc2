import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { ClusterStore } from '../shared/cluster/store.js';
import type { RpcTransport } from '../shared/cluster/rpc-transport.js';
import { ConfigError, type Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import { createApp } from './app.js';
import { onClientError } from './client-error.js';
import { ensureDefaultApp } from './auth.js';
import type { FailureLimits } from './auth-failures.js';
import { ensureDefaultUser } from './dashboard-users.js';
import { ClusterClient } from './cluster-client.js';
import { GatewayMetrics, type RequestMetrics } from './metrics.js';
import { DEFAULT_LIMITS } from './api/limits.js';
import { SharedCache } from './shared-cache.js';
import { metricsHandler } from './prometheus/route.js';
import { clusterScraper, type ClusterScrape } from './prometheus/scrape.js';
import { startTelemetryReport } from './telemetry-report.js';

export interface GatewayOptions {
  transport: RpcTransport;
  store: ClusterStore;
  log: Logger;
  bind: string;
  port: number;
  /** a second port serving the same app, where EMQX 3.x tooling expects the API (8080); -1 or unset: none */
  v3Port?: number;
  /** a port of its own for the dashboard (18083 as EMQX's), the same app with / sent to /dashboard/; -1 or unset: none */
  dashboardPort?: number;
  rpcTimeoutMs: number;
  heartbeatTtlMs: number;
  /** refuse connections beyond this many (unset: no limit) */
  maxConnections?: number;
  /** GET /metrics (and API GETs that accept a cached answer): how long a scrape round is reused, how long it waits for each node, whether it needs an app's credentials (shared/config.ts: metricsCacheMs, metricsTimeoutMs, metricsAuth) */
  metricsCacheMs?: number;
  metricsTimeoutMs?: number;
  metricsAuth?: boolean;
  /**
   * HTTPS (shared/config.ts: apiTlsCert, apiTlsKey, apiTlsPort): PEM files, and a port of its
   * own beside the plain ones, or -1 for every port to speak HTTPS; unset: plain HTTP only
   */
  tls?: { certFile: string; keyFile: string; port: number };
  /** Basic auth's lock-out of an address after failed logins (shared/config.ts: apiAuthMaxFailures, apiAuthWindowMs, apiAuthTrackedMax); unset: none */
  authFailures?: FailureLimits;
  /** Express's `trust proxy` (shared/config.ts: apiTrustProxy); unset: the peer's address is the source */
  trustProxy?: string;
  /** bytes of an API request's body and query string (shared/config.ts: apiMaxBody, apiMaxQuery); unset: 1 MB, 8 KB */
  apiMaxBody?: number;
  apiMaxQuery?: number;
  /** emqx_telemetry's report URL and interval (shared/config.ts: telemetryUrl, telemetryIntervalS); unset: no report */
  telemetryUrl?: string;
  telemetryIntervalS?: number;
}

/** The gateway's settings from the config (a gateway's or a standalone node's). */
export function gatewaySettings(cfg: Config): Omit<GatewayOptions, 'transport' | 'store' | 'log'> {
  return {
    bind: cfg.bind,
    port: cfg.apiPort,
    v3Port: cfg.apiV3Port,
    dashboardPort: cfg.dashboardPort,
    rpcTimeoutMs: cfg.rpcTimeoutMs,
    heartbeatTtlMs: cfg.heartbeatTtlMs,
    metricsCacheMs: cfg.metricsCacheMs,
    metricsTimeoutMs: cfg.metricsTimeoutMs,
    metricsAuth: cfg.metricsAuth,
    apiMaxBody: cfg.apiMaxBody,
    apiMaxQuery: cfg.apiMaxQuery,
    telemetryUrl: cfg.telemetryUrl,
    telemetryIntervalS: cfg.telemetryIntervalS,
    ...tlsSettings(cfg),
    authFailures: { maxFailures: cfg.apiAuthMaxFailures, windowMs: cfg.apiAuthWindowMs, maxTracked: cfg.apiAuthTrackedMax },
    ...(cfg.apiTrustProxy === undefined ? {} : { trustProxy: cfg.apiTrustProxy }),
  };
}

/** HTTPS from the config: both files or neither. */
function tlsSettings(cfg: Config): Pick<GatewayOptions, 'tls'> {
  if (!cfg.apiTlsCert && !cfg.apiTlsKey) return {};
  if (!cfg.apiTlsCert || !cfg.apiTlsKey) throw new ConfigError('HTTPS needs both STARLING_API_TLS_CERT and STARLING_API_TLS_KEY');
  return { tls: { certFile: cfg.apiTlsCert, keyFile: cfg.apiTlsKey, port: cfg.apiTlsPort } };
}

export interface RunningGateway {
  port: number;
  /** the HTTPS port of its own (GatewayOptions.tls.port), when served */
  tlsPort?: number;
  /** whether `port` (and the v3 and dashboard ports) speak HTTPS */
  https: boolean;
  /** the second port (GatewayOptions.v3Port), when served */
  v3Port?: number;
  /** the dashboard's own port, when served */
  dashboardPort?: number;
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
  const ensureDefaults = async (): Promise<void> => {
    await ensureDefaultApp(o.store, o.log);
    await ensureDefaultUser(o.store, o.log);
  };
  await ensureDefaults();
  // a store that comes back empty (a Redis restarted without persistence) would leave no app
  // to log in with: the defaults are made again, as on a first start (never over existing ones)
  o.store.onReconnect(() => {
    ensureDefaults().catch((err: Error) => o.log.warn({ err: err.message }, 'could not check the default app and user after a store reconnect'));
  });
  const metrics = new GatewayMetrics();
  const { requests } = metrics;
  const cluster = new ClusterClient(o.transport, o.store, { rpcTimeoutMs: o.rpcTimeoutMs, heartbeatTtlMs: o.heartbeatTtlMs, observe: metrics.observeRpc });
  const cacheMs = o.metricsCacheMs ?? 1000;
  const scrapes = new SharedCache(clusterScraper(cluster, o.metricsTimeoutMs ?? 2000), cacheMs);
  const app = createApp({
    cluster,
    store: o.store,
    log: o.log,
    observe: (endpoint, status, seconds) => requests.observe(endpoint, status, seconds),
    metrics: { handler: metricsHandler(scrapes, metrics.registry, cacheMs), auth: o.metricsAuth ?? false },
    ...(o.authFailures ? { authFailures: o.authFailures } : {}),
    ...(o.trustProxy === undefined ? {} : { trustProxy: o.trustProxy }),
    cacheMs,
    limits: { maxBodyBytes: o.apiMaxBody ?? DEFAULT_LIMITS.maxBodyBytes, maxQueryBytes: o.apiMaxQuery ?? DEFAULT_LIMITS.maxQueryBytes },
  });
  // read once at start: a bad file stops the gateway at once, naming it
  const secure = o.tls ? { cert: readFileSync(o.tls.certFile), key: readFileSync(o.tls.keyFile) } : undefined;
  const everyPortSecure = secure !== undefined && o.tls!.port < 0;
  const plainOrSecure = everyPortSecure ? secure : undefined;
  const servers = [await serve(app, o.port, o, plainOrSecure)];
  // the extra ports serve the same app: EMQX 3.x's API port, and the dashboard's, whose root goes to /dashboard/
  const toDashboard = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url === '/' || req.url === '') res.writeHead(302, { location: '/dashboard/' }).end();
    else app(req, res);
  };
  const extra: [number | undefined, (req: IncomingMessage, res: ServerResponse) => void, SecureOptions | undefined][] = [
    [o.v3Port, app, plainOrSecure],
    [o.dashboardPort, toDashboard, plainOrSecure],
    [everyPortSecure ? undefined : o.tls?.port, app, secure],
  ];
  const extraPorts: (number | undefined)[] = [];
  for (const [wanted, handler, tls] of extra) {
    if (wanted === undefined || wanted < 0) {
      extraPorts.push(undefined);
      continue;
    }
    try {
      const s = await serve(handler, wanted, o, tls);
      servers.push(s);
      extraPorts.push(s.port);
    } catch (err) {
      await Promise.all(servers.map((s) => s.close()));
      throw err;
    }
  }
  const stopReport = o.telemetryUrl ? startTelemetryReport({ url: o.telemetryUrl, intervalMs: (o.telemetryIntervalS ?? 604800) * 1000, cluster, store: o.store, log: o.log }) : () => {};
  const port = servers[0]!.port;
  const [v3Port, dashboardPort, tlsPort] = extraPorts;
  o.log.info({ port, v3Port, dashboardPort, tlsPort, https: everyPortSecure, address: o.bind }, 'api listening');
  return {
    port,
    ...(tlsPort === undefined ? {} : { tlsPort }),
    https: everyPortSecure,
    ...(v3Port === undefined ? {} : { v3Port }),
    ...(dashboardPort === undefined ? {} : { dashboardPort }),
    requests,
    metrics,
    scrapes,
    get connections() {
      return servers.reduce((n, s) => n + s.connections(), 0);
    },
    close: async () => {
      stopReport();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

interface Served {
  port: number;
  connections(): number;
  close(): Promise<void>;
}

/** A certificate and its key, PEM. */
interface SecureOptions {
  cert: Buffer;
  key: Buffer;
}

/** Listens with `app` on `port` (0: a free one) of the bind address, over TLS with `secure`; counts its open connections. */
async function serve(app: (req: IncomingMessage, res: ServerResponse) => void, wanted: number, o: GatewayOptions, secure?: SecureOptions): Promise<Served> {
  // http.createServer rather than app.listen: Express 5 calls listen's callback on errors too
  const server: Server = secure ? createHttpsServer(secure, app) : createServer(app);
  server.on('clientError', onClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(wanted, o.bind, () => {
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
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
