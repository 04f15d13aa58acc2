// The dashboard's only way to the cluster: the public /api/v4 (and /metrics), with the
// session's Basic auth. Answers are EMQX's `{code, data, meta?}`; a non-zero code is thrown
// as an ApiFailure, whose `node` names a node that did not answer (code 101).
import { basicAuth, currentSession, logout, touch } from './auth.js';

/** Where the API is: the dashboard is served by the gateway at /dashboard/, the API beside it. */
export const API_BASE = '../api/v4';

export const RPC_ERROR = 101;

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    /** the node a 101 names, when its message does */
    readonly node?: string,
  ) {
    super(message);
  }
}

export interface Page {
  page: number;
  limit: number;
  count: number;
}

export interface Answer<T> {
  data: T;
  meta?: Page;
}

/** The node name (`name@host`) a failure's message names, if any. */
export function nodeIn(message: string): string | undefined {
  return /[A-Za-z0-9_.-]+@[A-Za-z0-9_.:-]+/.exec(message)?.[0];
}

/**
 * How a read may be answered. A timer's poll accepts an answer up to `maxAgeS` seconds old
 * (`Cache-Control: max-age`): the gateway then answers every open dashboard from one
 * fan-out per cache interval. A read after the operator's own action asks fresh.
 */
export interface Read {
  maxAgeS?: number;
}

const readHeaders = (read: Read | undefined): Record<string, string> => (read?.maxAgeS ? { 'cache-control': `max-age=${Math.ceil(read.maxAgeS)}` } : {});

async function call<T>(method: string, path: string, body: unknown, auth: string | undefined, renew: boolean, read?: Read): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...readHeaders(read) };
  if (auth) headers.authorization = auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    // credentials 'omit': the Authorization header is ours; the browser's own login prompt on a
    // 401 (WWW-Authenticate: Basic) only comes for requests that carry its credentials
    res = await fetch(`${API_BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  } catch (err) {
    throw new ApiFailure(0, -1, `the gateway did not answer: ${(err as Error).message}`);
  }
  const text = await res.text();
  let json: { code?: number; message?: string; data?: T; meta?: Page } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    throw new ApiFailure(res.status, -1, `HTTP ${res.status}: not a JSON answer`);
  }
  if (res.status === 401) {
    if (renew) logout();
    throw new ApiFailure(401, json.code ?? -1, json.message ?? 'unauthorized');
  }
  if (json.code !== 0) {
    const message = json.message ?? `HTTP ${res.status}, code ${String(json.code)}`;
    throw new ApiFailure(res.status, json.code ?? -1, message, json.code === RPC_ERROR ? nodeIn(message) : undefined);
  }
  if (renew) touch();
  return { data: json.data as T, meta: json.meta };
}

/** A call with the session's credentials; without a session it fails as a 401 would. */
export function api<T>(method: string, path: string, body?: unknown, read?: Read): Promise<Answer<T>> {
  const s = currentSession();
  if (!s) return Promise.reject(new ApiFailure(401, -1, 'not logged in'));
  return call<T>(method, path, body, basicAuth(s), true, read);
}

/** Checks credentials before they become the session (GET /api/v4/brokers needs a valid app). */
export async function checkCredentials(appId: string, secret: string): Promise<void> {
  await call('GET', '/brokers', undefined, basicAuth({ appId, secret }), false);
}

/**
 * GET /metrics (Prometheus' text): the gateway answers it from its short scrape cache, so
 * any number of open dashboards cost the nodes one scrape per cache interval.
 */
export async function prometheus(read?: Read): Promise<string> {
  const s = currentSession();
  if (!s) throw new ApiFailure(401, -1, 'not logged in');
  let res: Response;
  try {
    res = await fetch('../metrics', { headers: { authorization: basicAuth(s), ...readHeaders(read) }, cache: 'no-store', credentials: 'omit' });
  } catch (err) {
    throw new ApiFailure(0, -1, `the gateway did not answer: ${(err as Error).message}`);
  }
  if (res.status === 401) {
    logout();
    throw new ApiFailure(401, -1, 'unauthorized');
  }
  if (!res.ok) throw new ApiFailure(res.status, -1, `GET /metrics: HTTP ${res.status}`);
  touch();
  return res.text();
}

export const get = <T>(path: string, read?: Read): Promise<Answer<T>> => api<T>('GET', path, undefined, read);

/** Query string from the set fields only. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
