import express, { type NextFunction, type Request, type Response } from 'express';
import type { ClusterStore } from '../../shared/cluster/store.js';
import type { Logger } from '../../shared/logger.js';
import { CODE } from '../../shared/result-codes.js';
import type { ClusterClient } from '../cluster-client.js';
import type { Endpoint, Resource } from './endpoint.js';
import { ApiError, asApiError } from './errors.js';
import type { PolledAnswers } from './polled.js';

/** Largest request body accepted (a publish_batch of a few thousand small messages fits). */
const BODY_LIMIT = '1mb';

/** Names for the index path, outside the resource tables. */
export const INDEX_ENDPOINT = 'list_endpoints';

/** One version of the API (/api/v4, /api/v3): its tables and how its answers look where versions differ. */
export interface ApiVersion {
  resources: readonly Resource[];
  /** put before the endpoints' names in the request metrics, where versions share names ("v3/" for v3) */
  metricPrefix: string;
  /** one entry of the version's `GET /` listing */
  listed(e: Endpoint): Record<string, string>;
  /** the version's form of a failure (v3's result codes and messages); as is when absent */
  error?(err: ApiError): ApiError;
}

export interface RouterDeps {
  cluster: ClusterClient;
  store: ClusterStore;
  log: Logger;
  /** Basic auth, one instance for every version (its app cache is shared) */
  auth: express.RequestHandler;
  /** the short shared cache of GETs that accept one (Cache-Control: max-age), one for every version */
  polled: PolledAnswers;
}

/** Names the request's endpoint; the first table entry that matches wins, as in routing. */
export const tag =
  (name: string): express.RequestHandler =>
  (_req, res, next) => {
    res.locals.endpoint ??= name;
    next();
  };

/** Writes a failure the way every answer under /api looks: JSON with a result code. */
export function sendError(res: Response, err: ApiError): void {
  res.status(err.status).json({ code: err.code, message: err.message });
}

/** A failure that is not the API's own answer: Express's body parser's, or a bug (500, logged). */
export function otherError(err: unknown, log: Logger): ApiError {
  const e = err as { type?: string; status?: number };
  if (e.type === 'entity.parse.failed') return new ApiError(400, CODE.BAD_JSON, 'request body is not valid JSON');
  if (e.type === 'entity.too.large') return new ApiError(413, CODE.BAD_PARAM, `request body larger than ${BODY_LIMIT}`);
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new ApiError(e.status, CODE.BAD_PARAM, (err as Error).message);
  log.error({ err }, 'API request failed');
  return new ApiError(500, CODE.UNKNOWN, 'internal error');
}

/**
 * The router of one API version, mounted at /api/vN: `GET /` lists its endpoints, then each
 * table entry behind Basic auth, answered as `{"code":0,...}`; its failures in the version's
 * form. Every answer is JSON, errors included (no HTML, no stack traces).
 */
export function apiRouter(deps: RouterDeps, v: ApiVersion): express.Router {
  const { cluster, store, log } = deps;
  const api = express.Router({ caseSensitive: true, strict: false });
  const all: Resource = v.resources.flat();
  const route = (e: Pick<Endpoint, 'method' | 'path'>, ...handlers: express.RequestHandler[]): void => {
    (api as unknown as Record<string, (p: string, ...h: express.RequestHandler[]) => void>)[e.method.toLowerCase()]!.call(api, e.path, ...handlers);
  };
  // named before auth, so that a refused request is counted under its endpoint too
  route({ method: 'GET', path: '/' }, tag(v.metricPrefix + INDEX_ENDPOINT));
  for (const e of all) route(e, tag(v.metricPrefix + e.name));
  api.use(deps.auth);
  api.use(express.json({ limit: BODY_LIMIT, type: () => true, strict: false }));

  api.get('/', (_req, res) => {
    res.json({ code: CODE.OK, data: all.map((e) => v.listed(e)) });
  });
  for (const e of all) {
    route(e, (req, res, next) => {
      const run = () =>
        e.handle({
          params: req.params as Record<string, string>,
          query: req.query as Record<string, string>,
          body: req.body,
          cluster,
          store,
          req,
        });
      deps.polled.answer(e, req, res, run).then(
        (reply) => res.json({ code: CODE.OK, ...reply }),
        next,
      );
    });
  }
  api.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = asApiError(err) ?? otherError(err, log);
    sendError(res, v.error ? v.error(e) : e);
  });
  return api;
}
