import express, { type NextFunction, type Request, type Response } from 'express';
import type { ClusterStore } from '../shared/cluster/store.js';
import type { Logger } from '../shared/logger.js';
import { CODE } from '../shared/result-codes.js';
import { appAuth } from './auth.js';
import type { ClusterClient } from './cluster-client.js';
import { ApiError, asApiError } from './api/errors.js';
import type { Endpoint, Resource } from './api/endpoint.js';
import { resources } from './api/v4/index.js';
import { v3UsersResources } from './api/v3/users-resources.js';
import { statusHandler } from './status.js';

/** Largest request body accepted (a publish_batch of a few thousand small messages fits). */
const BODY_LIMIT = '1mb';

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
}

/** The endpoint name of a request to a path no resource table has. */
export const UNKNOWN_ENDPOINT = 'unknown';
/** Names for the two paths outside the resource tables. */
const STATUS_ENDPOINT = 'status';
const INDEX_ENDPOINT = 'list_endpoints';
const METRICS_ENDPOINT = 'prometheus';

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

/** Names the request's endpoint; the first table entry that matches wins, as in routing. */
const tag =
  (name: string): express.RequestHandler =>
  (_req, res, next) => {
    res.locals.endpoint ??= name;
    next();
  };

/** Writes a failure the way every answer under /api looks: JSON with a result code. */
function sendError(res: Response, err: ApiError): void {
  res.status(err.status).json({ code: err.code, message: err.message });
}

/**
 * The gateway's Express app: `/status` for load balancers, `/metrics` for Prometheus,
 * then `/api/v4` behind Basic auth, routed from the resources' endpoint tables. Every answer under /api is JSON, errors
 * included (no HTML, no stack traces).
 */
export function createApp(deps: GatewayDeps): express.Express {
  const { cluster, store, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  if (deps.observe) app.use(observed(deps.observe));
  app.get('/status', tag(STATUS_ENDPOINT), statusHandler(cluster));
  if (deps.metrics) app.get('/metrics', tag(METRICS_ENDPOINT), ...(deps.metrics.auth ? [appAuth(store)] : []), deps.metrics.handler);

  app.use('/api/v4', apiRouter(resources.flat(), cluster, store));
  // v3-users branch only (the merge takes the v3 core's router and adds v3UsersResources to its index)
  app.use('/api/v3', apiRouter(v3UsersResources.flat(), cluster, store));

  // unknown paths, under /api or not: 404 with a JSON body
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ code: CODE.NOT_FOUND, message: 'not found' });
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    sendError(res, asApiError(err) ?? otherError(err, log));
  });
  return app;
}

/** One API version's router: Basic auth, JSON bodies, `GET /` listing the table, then each endpoint. */
function apiRouter(all: Resource, cluster: ClusterClient, store: ClusterStore): express.Router {
  const api = express.Router({ caseSensitive: true, strict: false });
  const route = (e: Pick<Endpoint, 'method' | 'path'>, ...handlers: express.RequestHandler[]): void => {
    (api as unknown as Record<string, (p: string, ...h: express.RequestHandler[]) => void>)[e.method.toLowerCase()]!.call(api, e.path, ...handlers);
  };
  // named before auth, so that a refused request is counted under its endpoint too
  route({ method: 'GET', path: '/' }, tag(INDEX_ENDPOINT));
  for (const e of all) route(e, tag(e.name));
  api.use(appAuth(store));
  api.use(express.json({ limit: BODY_LIMIT, type: () => true, strict: false }));

  api.get('/', (_req, res) => {
    res.json({ code: CODE.OK, data: all.map((e) => ({ path: e.path, name: e.name, method: e.method, descr: e.descr })) });
  });
  for (const e of all) {
    route(e, (req, res, next) => {
      e.handle({
        params: req.params as Record<string, string>,
        query: req.query as Record<string, string>,
        body: req.body,
        cluster,
        store,
        req,
      }).then(
        (reply) => res.json({ code: CODE.OK, ...reply }),
        next,
      );
    });
  }
  return api;
}

/** A failure that is not the API's own answer: Express's body parser's, or a bug (500, logged). */
function otherError(err: unknown, log: Logger): ApiError {
  const e = err as { type?: string; status?: number };
  if (e.type === 'entity.parse.failed') return new ApiError(400, CODE.BAD_JSON, 'request body is not valid JSON');
  if (e.type === 'entity.too.large') return new ApiError(413, CODE.BAD_PARAM, `request body larger than ${BODY_LIMIT}`);
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new ApiError(e.status, CODE.BAD_PARAM, (err as Error).message);
  log.error({ err }, 'API request failed');
  return new ApiError(500, CODE.UNKNOWN, 'internal error');
}
