import assert from 'node:assert/strict';
import { spawnProcess, type ManagedProcess } from './processes.js';
import { REPO_ROOT } from './broker.js';
import { fileURLToPath } from 'node:url';
import type { TestCluster } from './cluster.js';
import { HEARTBEAT_TTL_MS, RPC_TIMEOUT_MS } from './cluster.js';

export const GATEWAY_MAIN = fileURLToPath(new URL('../../../dist/gateway/main.js', import.meta.url));

export interface GatewayProcess {
  port: number;
  /** the second API port (STARLING_API_V3_PORT), when the gateway serves one */
  v3Port?: number;
  url: string;
  /** the dashboard's own port, when STARLING_DASHBOARD_PORT is set */
  dashboardPort?: number;
  /** the HTTPS port of its own, when STARLING_API_TLS_PORT is set beside a certificate */
  tlsPort?: number;
  /** whether `port` speaks HTTPS (a certificate without STARLING_API_TLS_PORT); `url` is https:// then */
  https: boolean;
  proc: ManagedProcess;
  stop(): Promise<void>;
}

/** Starts `node dist/gateway/main.js` for a test cluster on a free 127.0.0.1 port; resolves once it logs "gateway started". */
export async function startGateway(c: TestCluster, env: Record<string, string> = {}): Promise<GatewayProcess> {
  let port = 0;
  let dashboardPort: number | undefined;
  let v3Port: number | undefined;
  let tlsPort: number | undefined;
  let https = false;
  const proc = await spawnProcess({
    name: 'gateway',
    cmd: process.execPath,
    args: [GATEWAY_MAIN],
    cwd: REPO_ROOT,
    env: {
      NATS_URL: c.nats.url,
      REDIS_URL: c.redis.url,
      STARLING_BIND: '127.0.0.1',
      STARLING_API_PORT: '0',
      STARLING_LOG_LEVEL: 'info',
      STARLING_RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS),
      STARLING_HEARTBEAT_TTL_MS: String(HEARTBEAT_TTL_MS),
      // tests poll with credentials a change has not reached yet: no lock-out of 127.0.0.1
      // (test/gateway/auth-lockout.test.ts sets its own)
      STARLING_API_AUTH_MAX_FAILURES: '0',
      ...env,
    },
    readyLine: (line) => {
      try {
        const e = JSON.parse(line) as { msg?: string; port?: number; dashboardPort?: number; v3Port?: number; tlsPort?: number; https?: boolean };
        if (e.msg === 'gateway started' && typeof e.port === 'number') {
          port = e.port;
          dashboardPort = e.dashboardPort;
          v3Port = e.v3Port;
          tlsPort = e.tlsPort;
          https = e.https === true;
          return true;
        }
      } catch {
        /* not JSON */
      }
      return false;
    },
  });
  return {
    port,
    ...(v3Port === undefined ? {} : { v3Port }),
    ...(tlsPort === undefined ? {} : { tlsPort }),
    https,
    url: `${https ? 'https' : 'http'}://127.0.0.1:${port}`,
    dashboardPort,
    proc,
    stop: () => proc.kill('SIGTERM', 3000),
  };
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  /** parsed JSON, or the text when it is not JSON */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One API call as curl would make it: Basic auth admin:public unless `auth` says otherwise (null: none). */
export async function api(base: string, method: string, path: string, opts: { body?: unknown; raw?: string; auth?: string | null } = {}): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  const auth = opts.auth === undefined ? 'admin:public' : opts.auth;
  if (auth !== null) headers.authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A success: HTTP 200, code 0, and the body's own keys exactly `keys`. */
export function ok(r: ApiAnswer, keys: string[] = ['code', 'data']): void {
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), [...keys].sort());
}

/** An error answer: its HTTP status, a JSON body with the result code and a message, nothing else. */
export function fails(r: ApiAnswer, status: number, code: number): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(r.body.code, code, JSON.stringify(r.body));
  assert.equal(typeof r.body.message, 'string');
  assert.deepEqual(Object.keys(r.body).sort(), ['code', 'message']);
}

/** The refusals of Basic auth: no credentials 104, wrong ones 103; each 401 with `WWW-Authenticate` and a JSON body. */
export const BAD_CREDENTIALS: readonly (readonly [string | null, number])[] = [
  [null, 104],
  ['admin:wrong', 103],
  ['nobody:public', 103],
];

export function unauthorized(r: ApiAnswer, code: number): void {
  fails(r, 401, code);
  assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm=/);
}
