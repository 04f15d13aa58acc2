import express, { type NextFunction, type Request, type Response } from 'express';
import type { ClusterStore } from '../shared/cluster/store.js';
import type { Logger } from '../shared/logger.js';
import { CODE } from '../shared/result-codes.js';
import { appAuth } from './auth.js';
import type { ClusterClient } from './cluster-client.js';
import { ApiError } from './api/errors.js';
import type { Endpoint, Resource } from './api/endpoint.js';
import { resources } from './api/v4/index.js';
import { statusHandler } from './status.js';

/** Largest request body accepted (a publish_batch of a few thousand small messages fits). */
const BODY_LIMIT = '1mb';

export interface GatewayDeps {
  cluster: ClusterClient;
  store: ClusterStore;
  log: Logger;
  /** called once per answered API request, for the gateway's metrics */
  observe?: (endpoint: Endpoint | undefined, status: number, seconds: number) => void;
}

/** Writes a failure the way every answer under /api looks: JSON with a result code. */
function sendError(res: Response, err: ApiError): void {
  res.status(err.status).json({ code: err.code, message: err.message });
}

/**
 * The gateway's Express app: `/status` for load balancers, then `/api/v4` behind Basic
 * auth, routed from the resources' endpoint tables. Every answer under /api is JSON, errors
 * included (no HTML, no stack traces).
 */
export function createApp(deps: GatewayDeps): express.Express {
  const { cluster, store, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.get('/status', statusHandler(cluster));

  const api = express.Router({ caseSensitive: true, strict: false });
  api.use(appAuth(store));
  api.use(express.json({ limit: BODY_LIMIT, type: () => true, strict: false }));

  const all: Resource = resources.flat();
  api.get('/', (_req, res) => {
    res.json({ code: CODE.OK, data: all.map((e) => ({ path: e.path, name: e.name, method: e.method, descr: e.descr })) });
  });
  for (const e of all) {
    const route = (api as unknown as Record<string, (p: string, h: express.RequestHandler) => void>)[e.method.toLowerCase()]!.bind(api);
    route(e.path, (req, res, next) => {
      const started = process.hrtime.bigint();
      res.locals.endpoint = e;
      e.handle({
        params: req.params as Record<string, string>,
        query: req.query as Record<string, string>,
        body: req.body,
        cluster,
        store,
        req,
      }).then(
        (reply) => {
          res.json({ code: CODE.OK, ...reply });
          deps.observe?.(e, 200, Number(process.hrtime.bigint() - started) / 1e9);
        },
        next,
      );
    });
  }
  app.use('/api/v4', api);

  // unknown paths, under /api or not: 404 with a JSON body
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ code: CODE.NOT_FOUND, message: 'not found' });
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    let apiErr: ApiError;
    if (err instanceof ApiError) apiErr = err;
    else if (e.type === 'entity.parse.failed') apiErr = new ApiError(400, CODE.BAD_JSON, 'request body is not valid JSON');
    else if (e.type === 'entity.too.large') apiErr = new ApiError(413, CODE.BAD_PARAM, `request body larger than ${BODY_LIMIT}`);
    else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) apiErr = new ApiError(e.status, CODE.BAD_PARAM, (err as Error).message);
    else {
      log.error({ err }, 'API request failed');
      apiErr = new ApiError(500, CODE.UNKNOWN, 'internal error');
    }
    sendError(res, apiErr);
    deps.observe?.(res.locals.endpoint as Endpoint | undefined, apiErr.status, 0);
  });
  return app;
}
