/**
 * The management API client behind every command: Basic auth, a timeout on every request,
 * and every way a request can fail turned into a CliError with its exit code and a message
 * naming the request. Only the public HTTP API is used (as curl would), so the CLI works
 * against any gateway, local or behind a load balancer.
 */
import { CODE } from '../shared/result-codes.js';
import { CliError, EXIT } from './errors.js';

export interface Connection {
  /** the gateway's base URL, e.g. http://127.0.0.1:8081 */
  url: string;
  user: string;
  pass: string;
  timeoutMs: number;
}

/** The `meta` of a paged list (EMQX 4.1+: `count` is -1 when filtered). */
export interface PageMeta {
  page: number;
  limit: number;
  count: number;
  hasnext: boolean;
}

/** A successful answer: `code` 0, the `data` if any, and `meta` on paged lists. */
export interface ApiAnswer {
  code: number;
  data?: unknown;
  meta?: PageMeta;
}

export type Query = Record<string, string | number | undefined>;

/** Which page of a list, or every page up to `max` rows. */
export interface Paging {
  page?: number;
  limit?: number;
  max: number;
}

export interface ListResult<T> {
  rows: T[];
  /** the rows the cluster holds, when the API knows it (not for filtered lists) */
  total?: number;
  /** more rows exist than were fetched */
  more: boolean;
}

/** Rows per request when fetching every page: large enough for few round trips, small enough for a gateway under load. */
export const PAGE_SIZE = 1000;

/** "CLIENT_NOT_ONLINE" → "client not online": the result codes' names, from their one declaration. */
const CODE_NAMES = new Map<number, string>(Object.entries(CODE).map(([name, code]) => [code, name.toLowerCase().replace(/_/g, ' ')]));

export function describeCode(code: number): string {
  const name = CODE_NAMES.get(code);
  return name ? `code ${code} (${name})` : `code ${code}`;
}

interface ErrorBody {
  code: number;
  message?: unknown;
}

function isApiBody(v: unknown): v is ErrorBody & ApiAnswer {
  return typeof v === 'object' && v !== null && typeof (v as { code?: unknown }).code === 'number';
}

/** Why fetch failed, from its cause: "connect ECONNREFUSED 127.0.0.1:1", "getaddrinfo ENOTFOUND x". */
function fetchFailure(err: unknown): string {
  const cause = (err as { cause?: { message?: string; code?: string } }).cause;
  return cause?.message ?? cause?.code ?? (err as Error).message;
}

export class ApiClient {
  private readonly base: string;
  private readonly authorization: string;

  constructor(private readonly conn: Connection) {
    this.base = conn.url.replace(/\/+$/, '');
    this.authorization = `Basic ${Buffer.from(`${conn.user}:${conn.pass}`).toString('base64')}`;
  }

  /** One HTTP exchange; the status, content type and text, or a CliError when nothing usable came back. */
  private async exchange(method: string, path: string, body: unknown, auth: boolean): Promise<{ status: number; type: string; text: string }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (auth) headers.authorization = this.authorization;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const what = `${method} ${path}`;
    try {
      // one signal for the whole exchange: a gateway that sends headers and then stalls times out too
      const signal = AbortSignal.timeout(this.conn.timeoutMs);
      const res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, redirect: 'error' });
      return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new CliError(EXIT.UNREACHABLE, `${what}: no answer from ${this.base} within ${this.conn.timeoutMs} ms`);
      }
      throw new CliError(EXIT.UNREACHABLE, `cannot reach the gateway at ${this.base} (${fetchFailure(err)})`);
    }
  }

  /** GET /status, the load balancers' health check (no auth): its text, and whether a node answers. */
  async status(): Promise<{ running: boolean; text: string }> {
    const r = await this.exchange('GET', '/status', undefined, false);
    if ((r.status !== 200 && r.status !== 503) || !/ is (running|not_running)\b/.test(r.text)) {
      throw new CliError(EXIT.UNREACHABLE, `GET /status: the answer (HTTP ${r.status}) is not a gateway's status; is ${this.base} a Starling gateway?`);
    }
    return { running: r.status === 200, text: r.text.trimEnd() };
  }

  /**
   * One call below /api/v4: the answer when its code is 0, else a CliError: 401 is
   * UNAUTHORIZED, 404 and 112 NOT_FOUND, any other code API_ERROR with the code and message.
   */
  async call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, opts: { query?: Query; body?: unknown } = {}): Promise<ApiAnswer> {
    const full = `/api/v4${path}${queryString(opts.query)}`;
    const what = `${method} ${full}`;
    const r = await this.exchange(method, full, opts.body, true);
    let body: unknown;
    try {
      body = JSON.parse(r.text);
    } catch {
      body = undefined;
    }
    if (r.status === 401) {
      const why = isApiBody(body) ? `, ${describeCode(body.code)}` : '';
      throw new CliError(EXIT.UNAUTHORIZED, `${this.base} refused the credentials of user ${JSON.stringify(this.conn.user)} (HTTP 401${why}); check --user and --pass, or STARLING_API_USER and STARLING_API_PASS`);
    }
    if (!isApiBody(body)) {
      throw new CliError(EXIT.UNREACHABLE, `${what}: the answer (HTTP ${r.status}${r.type ? `, ${r.type}` : ''}) is not the management API's JSON; is ${this.base} a Starling gateway?`);
    }
    const message = typeof body.message === 'string' ? body.message : '';
    if (r.status === 404) {
      // the gateway's answer for a path no endpoint table has is a bare "not found"; an unknown node names the node
      if (message === 'not found' || message === '') {
        throw new CliError(EXIT.NOT_FOUND, `${what}: this gateway does not serve that endpoint (HTTP 404); it may be older than this starling-ctl`);
      }
      throw new CliError(EXIT.NOT_FOUND, `${what}: ${message}`);
    }
    if (body.code !== CODE.OK) {
      const status = r.status === 200 ? '' : `HTTP ${r.status}, `;
      const exit = body.code === CODE.CLIENT_NOT_ONLINE ? EXIT.NOT_FOUND : EXIT.API_ERROR;
      throw new CliError(exit, `${what}: ${status}${describeCode(body.code)}${message ? `: ${message}` : ''}`);
    }
    return body;
  }

  get(path: string, query?: Query): Promise<ApiAnswer> {
    return this.call('GET', path, { query });
  }

  /**
   * A paged list: the one page asked for, or every page (PAGE_SIZE rows each, or `limit`)
   * until the last or `max` rows. The cluster may change between pages: a row may then be
   * missed or seen twice, as with any paging over live data.
   */
  async list<T>(path: string, query: Query, paging: Paging): Promise<ListResult<T>> {
    if (paging.page !== undefined) {
      const a = await this.get(path, { ...query, _page: paging.page, _limit: paging.limit });
      return { rows: rowsOf<T>(a, path), total: totalOf(a.meta), more: a.meta?.hasnext === true };
    }
    const limit = Math.min(paging.limit ?? PAGE_SIZE, paging.max);
    const rows: T[] = [];
    for (let page = 1; ; page++) {
      const a = await this.get(path, { ...query, _page: page, _limit: limit });
      rows.push(...rowsOf<T>(a, path));
      const more = a.meta?.hasnext === true;
      if (!more || rows.length >= paging.max) {
        return { rows: rows.slice(0, paging.max), total: totalOf(a.meta), more: more || rows.length > paging.max };
      }
    }
  }
}

function totalOf(meta: PageMeta | undefined): number | undefined {
  return meta && meta.count >= 0 ? meta.count : undefined;
}

function rowsOf<T>(a: ApiAnswer, path: string): T[] {
  if (!Array.isArray(a.data)) throw new CliError(EXIT.UNREACHABLE, `GET /api/v4${path}: the answer's data is not a list`);
  return a.data as T[];
}

function queryString(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}
