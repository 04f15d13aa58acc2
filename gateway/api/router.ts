import express, { type Request } from 'express';
import type { ClusterStore } from '../../shared/cluster/store.js';
import type { Logger } from '../../shared/logger.js';
import { CODE } from '../../shared/result-codes.js';
import type { ClusterClient } from '../cluster-client.js';
import { jsonErrors } from '../error-handler.js';
import type { Endpoint, Resource } from './endpoint.js';
import { ApiError } from './errors.js';
import { jsonBody, queryLimit, type RequestLimits } from './limits.js';
import type { PolledAnswers } from './polled.js';

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
  /** a password check of an endpoint failed (v3's POST /auth, PUT /change_pwd): counted as a failed login of Basic auth is */
  failedLogin?: (req: Request) => void;
  /** the short shared cache of GETs that accept one (Cache-Control: max-age), one for every version */
  polled: PolledAnswers;
  limits: RequestLimits;
}

/** The answers of an endpoint's own password check that refuse a guess. */
const WRONG_PASSWORD: ReadonlySet<number> = new Set([CODE.BAD_CREDENTIALS, CODE.OLD_PASSWORD_WRONG]);

/** Names the request's endpoint; the first table entry that matches wins, as in routing. */
export const tag =
  (name: string): express.RequestHandler =>
  (_req, res, next) => {
    res.locals.endpoint ??= name;
    next();
  };

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
  api.use(queryLimit(deps.limits.maxQueryBytes));
  api.use(deps.auth);
  // no endpoint takes OPTIONS: the JSON 404 of any other method, where Express would answer it in plain text (after auth: a stranger learns nothing)
  api.use((req, _res, next) => next(req.method === 'OPTIONS' ? new ApiError(404, CODE.NOT_FOUND, 'not found') : undefined));
  api.use(jsonBody(deps.limits.maxBodyBytes));

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
  api.use(jsonErrors(log, v.error, (e, req) => {
    if (WRONG_PASSWORD.has(e.code)) deps.failedLogin?.(req);
  }));
  return api;
}
