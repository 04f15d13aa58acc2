// Hostile HTTP against a real gateway over a real 2-node cluster: for every entry of every
// endpoint table (v4 and v3), seeded random requests built from it: its method or another,
// its path with random segments (percent-encoding broken or not, huge, a real node's name),
// random query strings (long ones past the limit too), JSON, non-JSON, deep and huge
// bodies. Every request must be answered (within the RPC timeout and a generous slack,
// asserted as "answered", not timed), never with a 500, always as JSON with a result code
// and no stack trace; afterwards the gateway and the nodes are alive and serve as before.
// HTTP_FUZZ_SEED and HTTP_FUZZ_CASES (requests per table entry) override the defaults.
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { CODE } from '../../shared/result-codes.js';
import type { Endpoint } from '../../gateway/api/endpoint.js';
import { resources as v3Resources } from '../../gateway/api/v3/index.js';
import { resources as v4Resources } from '../../gateway/api/v4/index.js';
import { fullName, RPC_TIMEOUT_MS } from '../support/cluster.js';
import { useGatewayCluster } from '../support/gateway-cluster.js';
import { api, ok } from '../support/gateway.js';
import { prng } from '../support/prng.js';

const SEED = Number(process.env.HTTP_FUZZ_SEED ?? 0x4774);
const CASES = Number(process.env.HTTP_FUZZ_CASES ?? 4);
const CONCURRENCY = 8;
/** "answered": within the RPC timeout (a few in a row for paged lists) and a slack for a busy machine */
const ANSWER_MS = 4 * RPC_TIMEOUT_MS + 15_000;
const AUTH = `Basic ${Buffer.from('admin:public').toString('base64')}`;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const CODES = new Set<number>(Object.values(CODE));
/** a line of a V8 stack trace, or Express's HTML error page */
const LEAK = /\n\s+at [^\n]+:\d+:\d+|<!DOCTYPE|<html|node_modules\//i;

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const word = (r: Rand, n: number): string => Array.from({ length: n }, () => pick(r, [...'abcdefghijklmnopqrstuvwxyz0123456789_-.'])).join('');

/** A path segment as sent on the wire: plain, unicode (encoded), broken percent-encoding, huge, a real node's name... */
function segment(r: Rand): string {
  switch (int(r, 0, 9)) {
    case 0:
      return encodeURIComponent(pick(r, ['é', '日本', '💥', '\u0000', ' ', '$SYS/#', '+/#', 'a/b', '../..']));
    case 1:
      return pick(r, ['%', '%Z', '%E0%A4%A', '%C0%AF', '%FF', '%2F%2E%2E']);
    case 2:
      return word(r, int(r, 2000, 20_000)); // past 16 KB: refused by the HTTP parser itself
    case 3:
      return encodeURIComponent(fullName(pick(r, ['n1', 'n2'])));
    case 4:
      return pick(r, ['', '.', '..', 'undefined', 'null', '0', '-1', '99999999999999999999', 'true']);
    default:
      return word(r, int(r, 1, 24));
  }
}

const QUERY_KEYS = ['_page', '_limit', '_like_clientid', '_like_username', '_gte_created_at', '_lte_connected_at', 'clientid', 'username', 'topic', 'qos', 'node', 'as', 'match_topic', 'proto_ver', 'conn_state', 'enable', 'test'];

function queryValue(r: Rand): string {
  switch (int(r, 0, 6)) {
    case 0:
      return String(int(r, -5, 20));
    case 1:
      return pick(r, ['', '1e400', 'NaN', '0x10', '1.5', '-0', '99999999999999999999999']);
    case 2:
      return encodeURIComponent(pick(r, ['#', '+', 'a/+/#', '日本', '\u0000', "' OR 1=1 --"]));
    case 3:
      return pick(r, ['%', '%zz', '%E0']);
    case 4:
      return word(r, int(r, 9000, 12_000)); // past STARLING_API_MAX_QUERY's default
    default:
      return word(r, int(r, 1, 12));
  }
}

function query(r: Rand): string {
  if (r() < 0.4) return '';
  const parts = Array.from({ length: int(r, 1, 6) }, () => {
    const key = r() < 0.8 ? pick(r, QUERY_KEYS) : word(r, int(r, 1, 8));
    return r() < 0.1 ? key : `${key}=${queryValue(r)}`;
  });
  return `?${parts.join('&')}`;
}

const BODY_KEYS = ['topic', 'topics', 'qos', 'payload', 'encoding', 'retain', 'clientid', 'client_id', 'username', 'who', 'as', 'reason', 'until', 'name', 'enable', 'rawsql', 'actions', 'type', 'config', 'description', 'node', 'secret', 'status', 'password', 'old_pwd', 'new_pwd', 'tags'];

function jsonValue(r: Rand, depth: number): unknown {
  switch (int(r, 0, depth > 3 ? 4 : 7)) {
    case 0:
      return int(r, -3, 3);
    case 1:
      return pick(r, [null, true, false, 1.5, -1, 1e300, '', '0']);
    case 2:
      return word(r, int(r, 0, 16));
    case 3:
      return pick(r, ['t/1', 't/+', '#', '$SYS/x', 'a//b', '日本', '\u0000', 'SELECT * FROM "t/#"', 'base64', 'plain']);
    case 4:
      return pick(r, ['clientid', 'username', 'peerhost', 'ip_address']);
    case 5:
    case 6:
      return Object.fromEntries(Array.from({ length: int(r, 0, 5) }, () => [r() < 0.85 ? pick(r, BODY_KEYS) : word(r, 5), jsonValue(r, depth + 1)]));
    default:
      return Array.from({ length: int(r, 0, 4) }, () => jsonValue(r, depth + 1));
  }
}

/** A body: none, random JSON, not JSON, deeply nested, huge (past the 1 MB limit). */
function body(r: Rand): string | undefined {
  switch (int(r, 0, 9)) {
    case 0:
    case 1:
    case 2:
      return undefined;
    case 3:
      return pick(r, ['{', '{"topic":', 'not json', '\u0000\u0001', "{'a':1}", '[1,2,]', '']);
    case 4:
      return '['.repeat(int(r, 1000, 50_000)) + ']'.repeat(r() < 0.5 ? 0 : 50_000);
    case 5:
      return r() < 0.5 ? JSON.stringify({ topic: 't', payload: 'x'.repeat(1_200_000) }) : JSON.stringify({ topic: 't', payload: 'x'.repeat(int(r, 1000, 100_000)) });
    default:
      return JSON.stringify(jsonValue(r, 0));
  }
}

interface Case {
  method: string;
  path: string;
  body?: string;
  contentType?: string;
}

function caseOf(r: Rand, prefix: string, e: Endpoint): Case {
  const method = r() < 0.6 ? e.method : pick(r, METHODS);
  let path = prefix + e.path.replace(/:[a-z_]+/gi, () => segment(r));
  if (r() < 0.1) path += `/${segment(r)}`;
  if (r() < 0.05) path += '/';
  // a body only where a client can send one (fetch refuses it on HEAD; Node's client then misreads the answer)
  const b = method === 'HEAD' ? undefined : body(r);
  return { method, path: path + query(r), ...(b === undefined ? {} : { body: b, contentType: pick(r, ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1']) }) };
}

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

function send(base: URL, c: Case, agent: http.Agent | false): Promise<Answer | { error: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { authorization: AUTH };
    if (c.contentType) headers['content-type'] = c.contentType;
    // HEAD on a connection of its own: Node's client can misread a reused connection after a body-less answer
    const req = http.request({ host: base.hostname, port: base.port, method: c.method, path: c.path, headers, agent: c.method === 'HEAD' ? false : agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.once('error', (e) => resolve({ error: e.message }));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString() }));
    });
    req.setTimeout(ANSWER_MS, () => req.destroy(new Error(`no answer within ${ANSWER_MS} ms`)));
    req.once('error', (e) => {
      // a kept-alive connection the server closed (after refusing a huge body unread) as this request
      // went out on it: a client sends again on a new one, as HTTP allows for a request never answered
      if (req.reusedSocket && /socket hang up|ECONNRESET/.test(e.message)) resolve(send(base, c, false));
      // a server may answer (413, 431) and close before reading all of a huge request: the answer counts
      else resolve({ error: e.message });
    });
    req.end(c.body);
  });
}

/** Why an answer to `c` is wrong, or null. */
function fault(c: Case, a: Answer | { error: string }): string | null {
  if ('error' in a) return /ECONNRESET|EPIPE/.test(a.error) && (c.body?.length ?? 0) > 1_000_000 ? null : `not answered: ${a.error}`;
  if (a.status >= 500) return `HTTP ${a.status}: ${a.text.slice(0, 300)}`;
  if (LEAK.test(a.text)) return `leaks internals: ${a.text.slice(0, 300)}`;
  if (c.method === 'HEAD') return null; // no body to check
  if (!/^application\/json/.test(a.contentType)) return `HTTP ${a.status} answered ${a.contentType || 'no content type'}: ${a.text.slice(0, 200)}`;
  let json: { code?: unknown };
  try {
    json = JSON.parse(a.text) as { code?: unknown };
  } catch {
    return `HTTP ${a.status}: not JSON: ${a.text.slice(0, 200)}`;
  }
  if (typeof json.code !== 'number' || !CODES.has(json.code)) return `HTTP ${a.status}: no result code of the spec: ${a.text.slice(0, 200)}`;
  if (a.status >= 400 && json.code === CODE.OK) return `HTTP ${a.status} with code 0`;
  return null;
}

const describeCase = (c: Case): string => `${c.method} ${c.path.length > 200 ? `${c.path.slice(0, 200)}… (${c.path.length} chars)` : c.path}${c.body === undefined ? '' : ` body ${c.body.length > 100 ? `${c.body.slice(0, 100)}… (${c.body.length} B)` : c.body}`}`;

describe('HTTP API fuzz: every endpoint table entry, hostile requests', () => {
  const g = useGatewayCluster(() => ({}), ['n1', 'n2']);

  it(`answers ${CASES} seeded random requests per table entry (seed ${SEED}) without a 500, a hang, a leak or a crash`, async () => {
    const r = prng(SEED);
    const tables: [string, Endpoint[]][] = [
      ['/api/v4', v4Resources.flat()],
      ['/api/v3', v3Resources.flat()],
    ];
    const cases: Case[] = [];
    for (const [prefix, entries] of tables) for (const e of entries) for (let i = 0; i < CASES; i++) cases.push(caseOf(r, prefix, e));
    // and paths no table has
    for (let i = 0; i < 20; i++) cases.push({ method: pick(r, METHODS), path: `/api/${pick(r, ['v4', 'v3', 'v5', ''])}/${segment(r)}/${segment(r)}${query(r)}` });

    const base = new URL(g.base);
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const faults: string[] = [];
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < cases.length) {
            const index = next++;
            const c = cases[index]!;
            const why = fault(c, await send(base, c, agent));
            if (why) faults.push(`#${index} ${describeCase(c)}: ${why}`);
          }
        }),
      );
    } finally {
      agent.destroy();
    }
    assert.deepEqual(faults.slice(0, 20), [], `${faults.length} of ${cases.length} requests went wrong (HTTP_FUZZ_SEED=${SEED})`);

    // nothing crashed: the gateway and both nodes serve a well-formed request as before
    assert.ok(g.gateway.proc.alive, 'the gateway is alive');
    const uncaught = g.gateway.proc.lines.filter((l) => /uncaught|unhandled/i.test(l));
    assert.deepEqual(uncaught, []);
    const nodes = await api(g.base, 'GET', '/api/v4/nodes');
    ok(nodes);
    assert.deepEqual(nodes.body.data.map((n: { node: string }) => n.node).sort(), [fullName('n1'), fullName('n2')]);
  });
});
