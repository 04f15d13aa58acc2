import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import basicAuth from 'express-basic-auth';
import type { Request, RequestHandler } from 'express';
import type { AppRecord } from '../shared/api/apps.js';
import type { ClusterStore } from '../shared/cluster/store.js';
import { CODE } from '../shared/result-codes.js';
import type { Logger } from '../shared/logger.js';
import type { AuthFailures } from './auth-failures.js';

/** The app every EMQX install starts with (AppID admin, AppSecret public). */
export const DEFAULT_APP = { appid: 'admin', secret: 'public' };

/** `sha256:<salt>:<hex>`: secrets are stored salted and hashed, never in clear. */
export function hashSecret(secret: string, salt = randomBytes(8).toString('hex')): string {
  return `sha256:${salt}:${createHash('sha256').update(salt + secret).digest('hex')}`;
}

export function secretMatches(secret: string, stored: string): boolean {
  const [scheme, salt, hex] = stored.split(':');
  if (scheme !== 'sha256' || salt === undefined || hex === undefined) return false;
  const want = Buffer.from(hex, 'hex');
  const got = createHash('sha256').update(salt + secret).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** What an unknown AppID's secret is checked against: no secret matches it. */
const UNKNOWN_APP_HASH = hashSecret(randomBytes(16).toString('hex'));

/** Whether an app's credentials are accepted at `now` (ms): enabled and not past `expired`. */
export const appLive = (app: AppRecord, now: number): boolean => app.status && (app.expired === 'undefined' || app.expired * 1000 > now);

/** Creates the default app on the first start of a cluster (no app at all yet). */
export async function ensureDefaultApp(store: ClusterStore, log: Logger): Promise<void> {
  if ((await store.configList('apps')).length > 0) return;
  const created = await store.configPut(
    'apps',
    { appid: DEFAULT_APP.appid, name: 'Default', secretHash: hashSecret(DEFAULT_APP.secret), desc: 'Application user', status: true, expired: 'undefined' },
    'create',
  );
  if (created) log.info({ appid: DEFAULT_APP.appid }, 'created the default API app');
}

/**
 * Basic authentication with AppID/AppSecret against the apps in the cluster config (cached,
 * dropped on every change notice and store reconnect, so a change made through any gateway
 * holds on every gateway within the notice's delay). A disabled app is refused, and an
 * expired one from its `expired` second on (checked at every request, no notice needed). The 401
 * carries `WWW-Authenticate` and a JSON body, as everything under /api does.
 *
 * An address that sent too many wrong credentials (`failures`) is answered 429 with
 * `Retry-After` until its window ends, rather than 401: tooling reads a 401 as "these
 * credentials are wrong" (the dashboard forgets them, starling-ctl says to check them),
 * while they may be right and the address merely locked out; 429 is the HTTP answer to
 * "try again later" that clients and proxies know. While the apps cannot be read (the store is
 * away and none are cached) the answer is 503 with code 101.
 */
export function appAuth(store: ClusterStore, failures?: AuthFailures): RequestHandler {
  let apps: Promise<Map<string, AppRecord>> | undefined;
  const load = (): Promise<Map<string, AppRecord>> =>
    (apps ??= store.configList('apps').then(
      (list) => new Map(list.map((a) => [a.appid, a])),
      (err) => {
        apps = undefined; // retry on the next request
        throw err;
      },
    ));
  store.onConfigChange((kind) => {
    if (kind === 'apps') apps = undefined;
  });
  // notices sent while the store was away are lost: a disabled app must not stay cached as live
  store.onReconnect(() => {
    apps = undefined;
  });
  const check = basicAuth({
    authorizeAsync: true,
    challenge: true,
    realm: 'starling',
    authorizer: (appid: string, secret: string, cb: (err: Error | null, ok: boolean) => void) => {
      load().then(
        (map) => {
          const app = map.get(appid);
          // hashed for an unknown or refused app too, so the time taken does not tell which AppIDs exist
          const matches = secretMatches(secret, app?.secretHash ?? UNKNOWN_APP_HASH);
          cb(null, app !== undefined && appLive(app, Date.now()) && matches);
        },
        () => cb(null, false),
      );
    },
    unauthorizedResponse: (req: Request & { auth?: { user: string; password: string } }) => {
      // credentials were given and refused: an attempt (a request without any is not a guess)
      if (req.auth) failures?.failed(sourceOf(req));
      return req.auth?.user && req.auth.password
        ? { code: CODE.BAD_CREDENTIALS, message: 'bad AppID or AppSecret' }
        : { code: CODE.EMPTY_CREDENTIALS, message: 'AppID or AppSecret missing' };
    },
  });
  return (req, res, next) => {
    const source = sourceOf(req);
    const waitMs = failures?.lockedFor(source) ?? 0;
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      res
        .status(429)
        .set('retry-after', String(seconds))
        .json({ code: CODE.TOO_MANY_REQUESTS, message: `too many failed logins from ${source}: try again in ${seconds} s` });
      return;
    }
    // the apps first: a store that cannot be read is the cluster's failure (503, 101), not a wrong secret to count
    load().then(
      () => check(req, res, next),
      (err: Error) => void res.status(503).json({ code: CODE.RPC_ERROR, message: `cluster store unavailable (apps): ${err.message}` }),
    );
  };
}

/** The address a request comes from: the client's, or with STARLING_API_TRUST_PROXY the one a trusted proxy forwarded. */
export const sourceOf = (req: Request): string => {
  const ip = req.ip ?? req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip; // an IPv4 client on a dual-stack socket, as EMQX shows it
};
