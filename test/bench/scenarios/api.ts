/**
 * Management API on a loaded cluster (Starling only): nats-server + redis-server + 3 nodes
 * + 1 gateway, and `apiConns` idle MQTT clients spread evenly over the nodes (one generator
 * process per node, so none holds more than ~10,000 sockets of the 20,000 allowed).
 *
 * Then, from the bench process itself:
 *  - latency: sequential requests on one keep-alive connection (write → last body byte):
 *    a page of the client list (first, middle, last page), a fuzzy `_like_clientid` query,
 *    GET /api/v4/metrics and /stats, a kick (DELETE, a different connected client each
 *    time), and GET /metrics with the gateway's scrape cache off
 *    (STARLING_METRICS_CACHE_MS=0: each scrape is one metrics.scrape RPC per node, the
 *    uncached cost);
 *  - throughput: autocannon (in-process, 10 connections) on GET /status and GET /api/v4/nodes.
 * Every answer is checked (HTTP 200, result code 0, the expected number of rows).
 */
import http from 'node:http';
import { cpus } from 'node:os';
import autocannon, { type Result as AutocannonResult } from 'autocannon';
import { HOST, startGateway, type RunningBroker } from '../brokers.js';
import { connectEach, Gen } from '../loadgen/client.js';
import { sleep } from '../procs.js';
import { scrapeFailure } from './scrape.js';
import { assertAlive, detailLog, loggedWarnings, shareOf } from './servers.js';
import type { Scenario, ScenarioContext, ScenarioResult } from './types.js';

const NODES = 3;
const LIMIT = 100;
const AUTH = `Basic ${Buffer.from('admin:public').toString('base64')}`;
/** Client ids are `api<node>-<i>`: "-12" matches every i starting with 12 (333 of 30,000). */
const LIKE = '-12';
const clientId = (node: number, i: number) => `api${node}-${i}`;
/** A sequential latency measurement stops after this long even if it has fewer samples. */
const PHASE_MAX_MS = 20000;
const MIN_SAMPLES = 50;
/** Autocannon: connections and warmup before each measured run. */
const AC_CONNECTIONS = 10;
const AC_WARMUP_S = 1;
/** Client process CPU (fraction of a core) from which a throughput result may be client-bound. */
const CLIENT_SATURATED = 0.9;

interface Reply {
  status: number;
  body: string;
  ms: number;
}

/** One keep-alive connection to the gateway; requests strictly one after another. */
export class Api {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  constructor(readonly port: number) {}

  request(method: string, path: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const req = http.request({ host: HOST, port: this.port, method, path, agent: this.agent, headers: { authorization: AUTH } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('error', reject);
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
      });
      req.once('error', reject);
      req.setTimeout(10000, () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
      req.end();
    });
  }

  /** The JSON answer of an API call that must succeed (HTTP 200, code 0). */
  async ok(method: string, path: string): Promise<{ data: unknown; meta?: { count: number } }> {
    const r = await this.request(method, path);
    const why = failure(r);
    if (why) throw new Error(`${method} ${path}: ${why}`);
    return JSON.parse(r.body) as { data: unknown; meta?: { count: number } };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Why an answer is not a success (HTTP 200 with result code 0), or null. */
function failure(r: Reply): string | null {
  if (r.status !== 200) return `HTTP ${r.status} ${r.body.slice(0, 200)}`;
  try {
    const j = JSON.parse(r.body) as { code?: number; message?: string };
    return j.code === 0 ? null : `code ${j.code} ${j.message ?? ''}`;
  } catch {
    return `not JSON: ${r.body.slice(0, 200)}`;
  }
}

interface LatencyStats {
  n: number;
  p50: number;
  p99: number;
  max: number;
  seconds: number;
  failures: number;
  firstFailure: string;
}

/** Same quantile rule as the MQTT latency scenario (loadgen/worker.ts). */
function quantiles(ms: number[]): Pick<LatencyStats, 'n' | 'p50' | 'p99' | 'max'> {
  const a = Float64Array.from(ms).sort();
  const q = (f: number) => a[Math.min(a.length - 1, Math.floor(f * a.length))] ?? NaN;
  return { n: a.length, p50: q(0.5), p99: q(0.99), max: a[a.length - 1] ?? NaN };
}

/**
 * `n` requests one after another (`make(i)` gives the i-th), each checked by `judge`
 * (default: a JSON success) and `check` (an extra condition on its JSON, e.g. the row
 * count). Stops early after PHASE_MAX_MS.
 */
export async function sequential(
  api: Api,
  n: number,
  make: (i: number) => { method: string; path: string },
  check?: (j: { data: unknown; meta?: { count: number } }) => string | null,
  judge: (r: Reply) => string | null = failure,
): Promise<LatencyStats> {
  const ms: number[] = [];
  let failures = 0;
  let firstFailure = '';
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (i >= MIN_SAMPLES && performance.now() - t0 > PHASE_MAX_MS) break;
    const { method, path } = make(i);
    const r = await api.request(method, path);
    ms.push(r.ms);
    let why = judge(r);
    if (!why && check) why = check(JSON.parse(r.body) as { data: unknown; meta?: { count: number } });
    if (why) {
      failures++;
      firstFailure ||= `${method} ${path}: ${why}`;
    }
  }
  return { ...quantiles(ms), seconds: (performance.now() - t0) / 1000, failures, firstFailure };
}

export const rows = (expect: number) => (j: { data: unknown }) => {
  const got = Array.isArray(j.data) ? j.data.length : -1;
  return got === expect ? null : `${got} rows, expected ${expect}`;
};

/** CPU of every process involved, as fractions of one core between two samples. */
class CpuMeter {
  constructor(
    private readonly procs: { name: string; p: RunningBroker }[],
    private readonly gens: Gen[],
  ) {}

  async sample(): Promise<{ t: number; procs: number[]; gens: number[]; self: number }> {
    const gens = await Promise.all(this.gens.map((g) => g.snap()));
    const self = process.cpuUsage();
    return {
      t: performance.now(),
      procs: this.procs.map((x) => x.p.cpuSeconds()),
      gens: gens.map((s) => (s.cpu.user + s.cpu.system) / 1e6),
      self: (self.user + self.system) / 1e6,
    };
  }

  /** Server processes (gateway, nodeN, nats, redis) and clients (http = this process, connN). */
  between(a: Awaited<ReturnType<CpuMeter['sample']>>, b: Awaited<ReturnType<CpuMeter['sample']>>): { server: Record<string, number>; client: Record<string, number> } {
    const s = (b.t - a.t) / 1000;
    return {
      server: Object.fromEntries(this.procs.map((x, i) => [x.name, (b.procs[i]! - a.procs[i]!) / s])),
      client: {
        http: (b.self - a.self) / s,
        ...Object.fromEntries(this.gens.map((g, i) => [g.name, (b.gens[i]! - a.gens[i]!) / s])),
      },
    };
  }
}

type Cpu = ReturnType<CpuMeter['between']>;
const pct = (v: number) => `${Math.round(v * 100)}%`;
const cpuText = (c: Cpu) =>
  `[cpu ${Object.entries(c.server).map(([k, v]) => `${k} ${pct(v)}`).join(' ')} | ${Object.entries(c.client).map(([k, v]) => `${k} ${pct(v)}`).join(' ')}]`;

async function throughput(port: number, path: string, durationS: number, auth: boolean): Promise<AutocannonResult> {
  return autocannon({
    url: `http://${HOST}:${port}${path}`,
    connections: AC_CONNECTIONS,
    duration: durationS,
    headers: auth ? { authorization: AUTH } : {},
  });
}

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { brokers: nodes, opts } = ctx;
  if (nodes.length !== NODES || !ctx.clusterEnv) throw new Error(`the api scenario needs ${NODES} clustered nodes`);
  const total = opts.apiConns;
  const perNode = shareOf(total, NODES);
  const warnings: string[] = [];
  const { details, note } = detailLog(ctx);

  let gateway: RunningBroker | undefined;
  let api: Api | undefined;
  // One generator process per node: ~10,000 sockets each.
  const gens = nodes.map((_, k) => Gen.spawn(`conn${k + 1}`));
  try {
    gateway = await startGateway({ ...ctx.clusterEnv, STARLING_METRICS_CACHE_MS: '0' });
    api = new Api(gateway.port);
    const gw = gateway;
    const alive = () => {
      assertAlive(ctx);
      if (gw.exited()) throw new Error(`gateway ${gw.exited()}: ${gw.stderrTail().slice(-500)}`);
    };

    // The gateway sees a node once its heartbeat is in Redis.
    const tNodes = Date.now();
    for (;;) {
      const j = await api.ok('GET', '/api/v4/nodes');
      if (Array.isArray(j.data) && j.data.length === NODES) break;
      if (Date.now() - tNodes > 10000) throw new Error(`gateway sees ${Array.isArray(j.data) ? j.data.length : '?'} of ${NODES} nodes after 10 s`);
      await sleep(100);
    }

    // Idle clients: generator k → node k, all at once.
    const conn = await connectEach(
      gens,
      (k) => ({ host: nodes[k]!.host, port: nodes[k]!.port, clientPrefix: `api${k + 1}-`, count: perNode(k), concurrency: opts.idleConcurrency, keepalive: 300 }),
      120000,
    );
    const { connected, failed, seconds: connectS } = conn;
    if (failed) warnings.push(`${failed} of ${total} MQTT connections failed (${conn.lastError})`);
    // Every session is on its node before CONNACK; the gateway must count them all.
    let listed = -1;
    for (const t = Date.now(); Date.now() - t < 5000; ) {
      listed = (await api.ok('GET', `/api/v4/clients?_limit=1`)).meta?.count ?? -1;
      if (listed === connected) break;
      await sleep(100);
    }
    if (listed !== connected) throw new Error(`gateway lists ${listed} clients, ${connected} connected`);
    const rssMB = nodes.map((n) => n.rssKB() / 1024);
    note(
      `${connected} idle MQTT clients on ${NODES} nodes in ${connectS.toFixed(1)} s (${Math.round(connected / connectS)} conn/s); node RSS ${rssMB.map((v) => `${Math.round(v)}`).join(' / ')} MB`,
    );
    alive();

    const lastPage = Math.max(1, Math.ceil(connected / LIMIT));
    const midPage = Math.max(1, Math.round(lastPage / 2));
    const likeExpect = Array.from({ length: NODES }, (_, k) => Array.from({ length: perNode(k) }, (_, i) => clientId(k + 1, i)))
      .flat()
      .filter((id) => id.includes(LIKE)).length;
    const pagePath = (p: number) => `/api/v4/clients?_page=${p}&_limit=${LIMIT}`;
    const likePath = `/api/v4/clients?_like_clientid=${encodeURIComponent(LIKE)}&_limit=${LIMIT}`;
    // Kicks go round the nodes, from the end of each node's range (never a fuzzy match needed above).
    const kicks = Math.min(opts.apiSamples, connected);
    const kickId = (j: number) => clientId((j % NODES) + 1, perNode(j % NODES) - 1 - Math.floor(j / NODES));

    // The fuzzy query's full answer once (not timed): it must find exactly the matching ids.
    const all = await api.ok('GET', `/api/v4/clients?_like_clientid=${encodeURIComponent(LIKE)}&_limit=10000`);
    const allRows = Array.isArray(all.data) ? all.data.length : -1;
    if (allRows !== likeExpect) warnings.push(`_like_clientid=${LIKE} found ${allRows} clients, expected ${likeExpect}`);

    // Warmup (JIT in gateway and nodes): a few of each read request.
    for (let i = 0; i < 20; i++) {
      for (const p of [pagePath(1), pagePath(midPage), pagePath(lastPage), likePath]) await api.request('GET', p);
    }

    const meter = new CpuMeter(
      [{ name: 'gateway', p: gw }, ...nodes.map((p, i) => ({ name: `node${i + 1}`, p })), ...ctx.services.map((p) => ({ name: p.kind.replace(/-server$/, ''), p }))],
      gens,
    );
    const metrics: Record<string, number> = { connected, connRate: connected / connectS, connectS, ...Object.fromEntries(rssMB.map((v, i) => [`node${i + 1}RssMB`, v])) };
    const measured = async (
      key: string,
      label: string,
      n: number,
      make: (i: number) => { method: string; path: string },
      check?: Parameters<typeof sequential>[3],
      judge?: Parameters<typeof sequential>[4],
    ) => {
      const a = await meter.sample();
      const st = await sequential(api!, n, make, check, judge);
      const cpu = meter.between(a, await meter.sample());
      metrics[`${key}P50`] = st.p50;
      metrics[`${key}P99`] = st.p99;
      metrics[`${key}Max`] = st.max;
      metrics[`${key}N`] = st.n;
      metrics[`${key}Failures`] = st.failures;
      if (st.failures) warnings.push(`${label}: ${st.failures} of ${st.n} requests failed (${st.firstFailure})`);
      if (st.n < n) warnings.push(`${label}: only ${st.n} of ${n} requests within ${PHASE_MAX_MS / 1000} s`);
      note(`${label}: p50 ${st.p50.toFixed(2)} ms, p99 ${st.p99.toFixed(2)} ms, max ${st.max.toFixed(1)} ms (${st.n} requests, ${(st.n / st.seconds).toFixed(0)}/s) ${cpuText(cpu)}`);
      alive();
    };

    const get = (path: string) => () => ({ method: 'GET', path });
    await measured('pageFirst', `GET ${pagePath(1)}`, opts.apiSamples, get(pagePath(1)), rows(Math.min(LIMIT, connected)));
    await measured('pageMid', `GET ${pagePath(midPage)}`, opts.apiSamples, get(pagePath(midPage)), rows(Math.min(LIMIT, connected - (midPage - 1) * LIMIT)));
    await measured('pageLast', `GET ${pagePath(lastPage)}`, opts.apiSamples, get(pagePath(lastPage)), rows(connected - (lastPage - 1) * LIMIT));
    metrics.pageP99 = Math.max(metrics.pageFirstP99!, metrics.pageMidP99!, metrics.pageLastP99!);
    await measured('like', `GET ${likePath} (${likeExpect} match)`, opts.apiSamples, get(likePath), rows(Math.min(LIMIT, likeExpect)));
    // one row per node, from each node's counters (answered whatever the number of clients)
    await measured('metrics', 'GET /api/v4/metrics', opts.apiSamples, get('/api/v4/metrics'), rows(NODES));
    await measured('stats', 'GET /api/v4/stats', opts.apiSamples, get('/api/v4/stats'), rows(NODES));
    // uncached: every scrape asks each node (warm it up first)
    const scrapeOk = (r: Reply) => scrapeFailure(r.status, r.body, NODES);
    for (let i = 0; i < 20; i++) await api.request('GET', '/metrics');
    await measured('scrape', 'GET /metrics (uncached: one metrics.scrape RPC per node each)', opts.apiSamples, get('/metrics'), undefined, scrapeOk);
    await measured('alarms', 'GET /api/v4/alarms', opts.apiSamples, get('/api/v4/alarms'), rows(NODES));
    await measured('kick', `DELETE /api/v4/clients/{id} (${kicks} different clients)`, kicks, (j) => ({ method: 'DELETE', path: `/api/v4/clients/${encodeURIComponent(kickId(j))}` }));
    const left = (await api.ok('GET', '/api/v4/clients?_limit=1')).meta?.count;
    const kicked = metrics.kickN! - metrics.kickFailures!;
    if (left !== connected - kicked) warnings.push(`after ${kicked} kicks the gateway lists ${left} clients, expected ${connected - kicked}`);

    // Throughput: autocannon from this process, a warmup run then the measured one.
    const durationS = opts.durationMs / 1000;
    let statusCpu: Cpu | undefined;
    for (const [key, path, auth] of [
      ['status', '/status', false],
      ['nodes', '/api/v4/nodes', true],
    ] as const) {
      await throughput(gw.port, path, AC_WARMUP_S, auth);
      const a = await meter.sample();
      const r = await throughput(gw.port, path, durationS, auth);
      const cpu = meter.between(a, await meter.sample());
      if (key === 'status') statusCpu = cpu;
      const rps = r['2xx'] / r.duration;
      const bad = r.non2xx + r.errors + r.timeouts;
      metrics[`${key}Rps`] = rps;
      metrics[`${key}P50`] = r.latency.p50;
      metrics[`${key}P99`] = r.latency.p99;
      metrics[`${key}Non2xx`] = r.non2xx;
      metrics[`${key}Errors`] = r.errors + r.timeouts;
      if (bad) warnings.push(`GET ${path}: ${r.non2xx} non-2xx (${Object.keys(r.statusCodeStats).join(', ')}), ${r.errors} errors, ${r.timeouts} timeouts`);
      if (cpu.client.http! >= CLIENT_SATURATED) warnings.push(`GET ${path}: autocannon (bench process) at ${pct(cpu.client.http!)} of a core: the rate may be client-bound`);
      note(
        `GET ${path} x${AC_CONNECTIONS} connections, ${r.duration.toFixed(1)} s: ${Math.round(rps)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms, non-2xx ${r.non2xx}, errors ${r.errors + r.timeouts} ${cpuText(cpu)}`,
      );
      alive();
    }
    metrics.non2xx = metrics.statusNon2xx! + metrics.nodesNon2xx! + metrics.statusErrors! + metrics.nodesErrors!;
    metrics.gatewayRssMB = gw.rssKB() / 1024;

    warnings.push(...loggedWarnings(ctx));
    const gwWarn = [...gw.logWarnings()].map(([m, n]) => `'${m}'${n > 1 ? ` x${n}` : ''}`);
    if (gwWarn.length) warnings.push(`gateway logged ${gwWarn.slice(0, 5).join(', ')}`);
    // The CPU table shows the /status throughput window (the busiest); Details has every phase.
    const c = statusCpu!;
    return {
      metrics,
      brokerCpu: nodes.reduce((a, _, i) => a + c.server[`node${i + 1}`]!, 0),
      procCpu: c.server,
      genCpu: c.client,
      warnings,
      details,
    };
  } finally {
    api?.close();
    await Promise.all(gens.map((g) => g.close()));
    await gateway?.stop();
  }
}

export const apiScenario: Scenario = {
  id: 'api',
  title: 'Management API (3 nodes)',
  nodes: NODES,
  cluster: true,
  brokers: ['starling'],
  calibration: 'relay',
  budgetMs: 180000,
  metrics: [
    { key: 'statusRps', label: 'GET /status', unit: 'req/s', better: 'higher' },
    { key: 'statusP99', label: '/status p99', unit: 'ms', better: 'lower', digits: 0 },
    { key: 'nodesRps', label: 'GET /api/v4/nodes', unit: 'req/s', better: 'higher' },
    { key: 'nodesP99', label: '/nodes p99', unit: 'ms', better: 'lower', digits: 0 },
    { key: 'non2xx', label: 'non-2xx+errors', unit: 'count', better: 'lower', digits: 0 },
    { key: 'pageFirstP50', label: 'page 1 p50', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'pageFirstP99', label: 'page 1 p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'pageMidP50', label: 'middle page p50', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'pageMidP99', label: 'middle page p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'pageLastP50', label: 'last page p50', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'pageLastP99', label: 'last page p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'likeP50', label: '_like_clientid p50', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'likeP99', label: '_like_clientid p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'alarmsP50', label: '/alarms p50', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'alarmsP99', label: '/alarms p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'metricsP50', label: '/api/v4/metrics p50', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'metricsP99', label: '/api/v4/metrics p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'statsP50', label: '/api/v4/stats p50', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'statsP99', label: '/api/v4/stats p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'kickP50', label: 'kick p50', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'kickP99', label: 'kick p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'scrapeP50', label: '/metrics p50 (uncached)', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'scrapeP99', label: '/metrics p99 (uncached)', unit: 'ms', better: 'lower', digits: 2 },
  ],
  note:
    `Management API (api): Starling only (N/A for the others). nats-server, redis-server, 3 Starling nodes, the gateway, 3 idle MQTT generator processes (one per node) and the HTTP client (the bench process: sequential requests on one keep-alive connection, then autocannon in-process with ${AC_CONNECTIONS} connections) all share the same ${cpus().length} cores: the gateway competes with the nodes that answer its RPCs and with autocannon, so the /status and /nodes rates are bounded by their combined CPU, unlike a deployment with a machine per node. ` +
    'Sequential latencies run from writing the request to the last body byte; autocannon latencies have 1 ms resolution. The CPU table row is the /status throughput window (http = the bench process running autocannon); every phase with its CPU is under Details. ' +
    'Clients are connected before anything is timed; the page numbers are 1, the middle and the last page of the full list (_limit=100); kicks end a different connected client each time; GET /metrics runs with the gateway\'s scrape cache off, so each measured scrape makes its 3 RPCs (the uncached cost).',
  run,
};
