import express, { type Request, type Response } from 'express';
import type { ClusterStore } from '../shared/cluster/store.js';
import type { Logger } from '../shared/logger.js';
import { CODE } from '../shared/result-codes.js';
import { appAuth, sourceOf } from './auth.js';
import { AuthFailures, type FailureLimits } from './auth-failures.js';
import { dashboardRouter } from './dashboard.js';
import type { ClusterClient } from './cluster-client.js';
import { DEFAULT_LIMITS, type RequestLimits } from './api/limits.js';
import { PolledAnswers } from './api/polled.js';
import { apiRouter, tag } from './api/router.js';
import { jsonErrors } from './error-handler.js';
import { v3Api } from './api/v3/index.js';
import { v4Api } from './api/v4/index.js';
import { statusHandler } from './status.js';

export interface GatewayDeps {
  cluster: ClusterClient;
  store: ClusterStore;
  log: Logger;
  /**
   * Called once per answered request, for the gateway's request metrics: the endpoint's
   * name (UNKNOWN_ENDPOINT for a path no table has), the HTTP status, and the seconds from
   * the request's arrival to the last byte of the answer, whichever way it was answered.
   */
  observe?: (endpoint: string, status: number, seconds: number) => void;
  /** GET /metrics (Prometheus), open unless `auth` (then an API app's credentials, as /api/v4). */
  metrics?: { handler: express.RequestHandler; auth: boolean };
  /** the lock-out of an address after failed logins (gateway/auth-failures.ts); unset: none */
  authFailures?: FailureLimits;
  /** Express's `trust proxy`: whose X-Forwarded-For names the source address */
  trustProxy?: string;
  /** how long an API GET that accepts a cached answer (Cache-Control: max-age) may be reused, in ms (STARLING_METRICS_CACHE_MS) */
  cacheMs?: number;
  /** API request body and query string sizes (STARLING_API_MAX_BODY, STARLING_API_MAX_QUERY) */
  limits?: RequestLimits;
}

/** The endpoint name of a request to a path no resource table has. */
export const UNKNOWN_ENDPOINT = 'unknown';
/** Names for the two paths outside the resource tables. */
const STATUS_ENDPOINT = 'status';
const METRICS_ENDPOINT = 'prometheus';
const DASHBOARD_ENDPOINT = 'dashboard';

/** Times every request from its arrival and reports it to `observe` once answered. */
function observed(observe: NonNullable<GatewayDeps['observe']>): express.RequestHandler {
  return (_req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      observe((res.locals.endpoint as string | undefined) ?? UNKNOWN_ENDPOINT, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}

/**
 * The gateway's Express app: `/status` for load balancers, `/metrics` for Prometheus,
 * `/dashboard/` (the web dashboard's static files), then `/api/v4` and `/api/v3` behind Basic
 * auth (gateway/api/router.ts), routed from the resources' endpoint tables. Every answer
 * under /api is JSON, errors included (no HTML, no stack traces).
 */
export function createApp(deps: GatewayDeps): express.Express {
  const { cluster, store, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  if (deps.trustProxy !== undefined) app.set('trust proxy', deps.trustProxy);

  if (deps.observe) app.use(observed(deps.observe));
  app.get('/status', tag(STATUS_ENDPOINT), statusHandler(cluster));
  // one instance for /metrics and every API version: one app cache
  const failures = deps.authFailures && deps.authFailures.maxFailures > 0 ? new AuthFailures(deps.authFailures) : undefined;
  const auth = appAuth(store, failures);
  if (deps.metrics) app.get('/metrics', tag(METRICS_ENDPOINT), ...(deps.metrics.auth ? [auth] : []), deps.metrics.handler);

  const router = {
    cluster,
    store,
    log,
    auth,
    polled: new PolledAnswers(deps.cacheMs ?? 1000),
    limits: deps.limits ?? DEFAULT_LIMITS,
    ...(failures ? { failedLogin: (req: Request) => failures.failed(sourceOf(req)) } : {}),
  };
  app.use('/api/v4', apiRouter(router, v4Api));
  app.use('/api/v3', apiRouter(router, v3Api));
  // static files only: the dashboard talks to /api/v4 and /metrics like any other client
  app.use('/dashboard', tag(DASHBOARD_ENDPOINT), dashboardRouter());

  // unknown paths, under /api or not: 404 with a JSON body
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ code: CODE.NOT_FOUND, message: 'not found' });
  });

  app.use(jsonErrors(log));
  return app;
}
