/**
 * A large cluster (Starling only, opt-in: `--scenarios=scale`): nats-server + redis-server +
 * 6 nodes + 1 gateway, `scaleClients` MQTT clients spread evenly over the nodes (one
 * generator process per node: ~17,000 sockets each at 100,000, under the 20,000 open files
 * a process may have), each subscribing to `scaleSubs` filters of its own in one SUBSCRIBE
 * (1,000,000 distinct filters at the default size). Then:
 *  - Redis memory per route (INFO used_memory growth, and MEMORY USAGE of the route sets);
 *  - node RSS per client (its sessions plus its copy of every other node's routes);
 *  - cross-node publish latency at `latencyRate` (node 1 → node 2) with the table loaded;
 *  - GET /api/v4/clients pages (first, middle, last) p99;
 *  - GET /api/v4/routes paged through to the end (10,000 rows a page), with the gateway's
 *    RSS watched: it must not hold the table;
 *  - a node killed (SIGKILL) and restarted: spawn until its MQTT listener is up, which the
 *    node opens only after it loaded the route table from Redis; compared with the same
 *    restart of an empty cluster at the start.
 */
import { HOST, starling, startGateway, type RunningBroker } from '../brokers.js';
import { connectEach, cpuFraction, Gen } from '../loadgen/client.js';
import { sleep } from '../procs.js';
import { Api, rows, sequential } from './api.js';
import { measureLatency } from './latency.js';
import { routeStoreUsage } from './redis-memory.js';
import { assertAlive, detailLog, loggedWarnings, shareOf } from './servers.js';
import type { Scenario, ScenarioContext, ScenarioResult } from './types.js';

const NODES = 6;
const CLIENT_PAGE = 100;
/** The gateway's largest page (gateway/api/params.ts MAX_ROW_LIMIT). */
const ROUTE_PAGE = 10000;
/** A node counts as settled (route notices of the others applied) below this CPU, fraction of a core. */
const QUIET_CPU = 0.1;
const SETTLE_MAX_MS = 240000;
/** How long every route may take to reach Redis once every client has its SUBACK. */
const ROUTES_WAIT_MS = 60000;
const nodeName = (i: number) => `bench${i + 1}@127.0.0.1`;

/** SIGKILL node `i`, start it again under the same name; returns spawn → MQTT listening, ms. */
async function restartNode(ctx: ScenarioContext, i: number): Promise<number> {
  const old = ctx.brokers[i]!;
  process.kill(old.pid, 'SIGKILL');
  for (const t = Date.now(); !old.exited() && Date.now() - t < 5000; ) await sleep(10);
  const t0 = performance.now();
  // The orchestrator stops whatever ctx.brokers holds at the end, the new process included.
  ctx.brokers[i] = await starling.start({ env: { ...ctx.clusterEnv, STARLING_NODE_NAME: nodeName(i) } });
  return performance.now() - t0;
}

/** Waits until every node is below QUIET_CPU over a second (the route notices applied); ms waited. */
async function settle(ctx: ScenarioContext): Promise<number> {
  const t0 = Date.now();
  let a = ctx.brokers.map((b) => b.cpuSeconds());
  for (;;) {
    await sleep(1000);
    assertAlive(ctx);
    const b = ctx.brokers.map((n) => n.cpuSeconds());
    if (b.every((v, k) => v - a[k]! < QUIET_CPU) || Date.now() - t0 > SETTLE_MAX_MS) return Date.now() - t0;
    a = b;
  }
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<string | null>): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const missing = await probe();
    if (!missing) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} after ${timeoutMs / 1000} s: ${missing}`);
    await sleep(200);
  }
}

/** Every route page in turn: rows seen, total announced, per-page p99, and the gateway's RSS growth. */
async function pageRoutes(api: Api, gw: RunningBroker): Promise<Record<string, number>> {
  const rss0 = gw.rssKB();
  let rssMax = rss0;
  let seen = 0;
  let total = -1;
  const ms: number[] = [];
  const t0 = performance.now();
  for (let page = 1; ; page++) {
    const r = await api.request('GET', `/api/v4/routes?_page=${page}&_limit=${ROUTE_PAGE}`);
    ms.push(r.ms);
    if (r.status !== 200) throw new Error(`GET /routes page ${page}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
    const j = JSON.parse(r.body) as { code: number; message?: string; data?: unknown[]; meta?: { count: number; hasnext: boolean } };
    if (j.code !== 0 || !j.data || !j.meta) throw new Error(`GET /routes page ${page} (after ${seen} rows): code ${j.code} ${j.message ?? ''}`);
    seen += j.data.length;
    total = j.meta.count;
    rssMax = Math.max(rssMax, gw.rssKB());
    if (!j.meta.hasnext) break;
  }
  const sorted = ms.sort((x, y) => x - y);
  return {
    routesSeen: seen,
    routesTotal: total,
    routesPages: ms.length,
    routesPagingS: (performance.now() - t0) / 1000,
    routesPageP99: sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]!,
    routesPageMax: sorted[sorted.length - 1]!,
    gatewayRssGrowthMB: (rssMax - rss0) / 1024,
  };
}

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  if (ctx.brokers.length !== NODES || !ctx.clusterEnv) throw new Error(`the scale scenario needs ${NODES} clustered nodes`);
  const { scaleClients: total, scaleSubs: subs } = ctx.opts;
  const perNode = shareOf(total, NODES);
  const warnings: string[] = [];
  const { details, note } = detailLog(ctx);
  const metrics: Record<string, number> = {};
  const gens = ctx.brokers.map((_, k) => Gen.spawn(`conn${k + 1}`));
  let gateway: RunningBroker | undefined;
  let api: Api | undefined;
  try {
    gateway = await startGateway(ctx.clusterEnv);
    api = new Api(gateway.port);
    const a = api;
    const nodesSeen = async (): Promise<string | null> => {
      const j = await a.ok('GET', '/api/v4/nodes');
      const n = Array.isArray(j.data) ? j.data.length : 0;
      return n === NODES ? null : `gateway sees ${n} of ${NODES} nodes`;
    };
    await waitFor('nodes', 15000, nodesSeen);

    // The same restart with an empty route table: what start-up costs without routes.
    metrics.emptyRestartMs = await restartNode(ctx, NODES - 1);
    await waitFor('restarted node', 15000, nodesSeen);
    // No pause here: a survivor still purging the node's former run (a restart slower than the
    // heartbeat TTL) stops at its new record, so the routes its clients now write stay.
    const rss0 = ctx.brokers.map((b) => b.rssKB());
    const redis0 = await routeStoreUsage(ctx.clusterEnv.REDIS_URL!);

    // Every client: CONNECT + one SUBSCRIBE of its filters; generator k → node k, all at once.
    const c = await connectEach(
      gens,
      (k) => ({
        host: ctx.brokers[k]!.host,
        port: ctx.brokers[k]!.port,
        clientPrefix: `scale${k + 1}-`,
        subPrefix: `scale/${k + 1}/`,
        subs,
        count: perNode(k),
        concurrency: ctx.opts.idleConcurrency,
        keepalive: 600,
      }),
      SETTLE_MAX_MS * 2,
    );
    const { connected, failed, seconds: connectS, before: s0, after: s1 } = c;
    if (failed) warnings.push(`${failed} of ${total} clients failed to connect and subscribe (${c.lastError})`);
    const genUs = c.cpuUs;
    const expected = connected * subs;
    note(`${connected} clients with ${subs} filters each connected and subscribed in ${connectS.toFixed(1)} s (${Math.round(connected / connectS)} clients/s)`);

    // Every route in Redis, then every node done applying the others' route notices.
    const tr = Date.now();
    // A shortfall is reported, not fatal: the other measurements still say something.
    let stored = redis0;
    for (const t = Date.now(); Date.now() - t < ROUTES_WAIT_MS; await sleep(500)) {
      stored = await routeStoreUsage(ctx.clusterEnv.REDIS_URL!);
      if (stored.routes >= redis0.routes + expected) break;
    }
    if (stored.routes < redis0.routes + expected) {
      warnings.push(`only ${stored.routes - redis0.routes} of ${expected} routes reached Redis within ${ROUTES_WAIT_MS / 1000} s (${JSON.stringify(stored.perKey)})`);
    }
    const settleMs = Date.now() - tr + (await settle(ctx));
    metrics.routesMissing = redis0.routes + expected - stored.routes;
    const redis1 = await routeStoreUsage(ctx.clusterEnv.REDIS_URL!);
    const routes = redis1.routes;
    const rss1 = ctx.brokers.map((b) => b.rssKB());
    const rssKBPerClient = rss1.reduce((acc, v, k) => acc + (v - rss0[k]!) / perNode(k), 0) / NODES;
    Object.assign(metrics, {
      connected,
      failed,
      connectS,
      connRate: connected / connectS,
      genCpuUsPerConn: connected ? genUs / connected : NaN,
      routes,
      settleMs,
      redisUsedMB: redis1.usedMemory / 2 ** 20,
      redisBytesPerRoute: (redis1.usedMemory - redis0.usedMemory) / Math.max(1, routes - redis0.routes),
      redisSetBytesPerRoute: redis1.routeBytes / Math.max(1, routes),
      rssKBPerClient,
      ...Object.fromEntries(rss1.map((v, k) => [`node${k + 1}RssMB`, v / 1024])),
    });
    note(
      `${routes} routes in Redis (${(redis1.usedMemory / 2 ** 20).toFixed(0)} MB used, +${metrics.redisBytesPerRoute!.toFixed(0)} B per route; route sets ${metrics.redisSetBytesPerRoute!.toFixed(0)} B per route), settled ${(settleMs / 1000).toFixed(1)} s after connecting`,
    );
    note(`node RSS ${rss1.map((v) => Math.round(v / 1024)).join(' / ')} MB: +${rssKBPerClient.toFixed(1)} KB per client (its session and ${subs} subscriptions, plus its share of every other node's routes)`);

    // Cross-node latency with the whole table loaded everywhere.
    const lat = await measureLatency(ctx, 0, 1);
    for (const [k, v] of Object.entries(lat.metrics)) metrics[`xnode${k[0]!.toUpperCase()}${k.slice(1)}`] = v;
    warnings.push(...(lat.warnings ?? []));
    note(`cross-node latency @${ctx.opts.latencyRate} msg/s: p50 ${lat.metrics.p50!.toFixed(2)} ms, p99 ${lat.metrics.p99!.toFixed(2)} ms, max ${lat.metrics.max!.toFixed(1)} ms`);

    // Client list pages: first, middle and last, in turn.
    const lastPage = Math.max(1, Math.ceil(connected / CLIENT_PAGE));
    const pages = [1, Math.max(1, Math.round(lastPage / 2)), lastPage];
    const pageRows = (p: number) => Math.min(CLIENT_PAGE, connected - (p - 1) * CLIENT_PAGE);
    for (const p of pages) await api.request('GET', `/api/v4/clients?_page=${p}&_limit=${CLIENT_PAGE}`); // warmup
    let cp = { p50: 0, p99: 0, max: 0 };
    for (const p of pages) {
      const n = Math.max(10, Math.round(ctx.opts.apiSamples / pages.length));
      const st = await sequential(api, n, () => ({ method: 'GET', path: `/api/v4/clients?_page=${p}&_limit=${CLIENT_PAGE}` }), rows(pageRows(p)));
      if (st.failures) warnings.push(`clients page ${p}: ${st.failures} of ${st.n} failed (${st.firstFailure})`);
      if (st.p99 > cp.p99) cp = st;
    }
    metrics.clientsPageP50 = cp.p50;
    metrics.clientsPageP99 = cp.p99;
    metrics.clientsPageMax = cp.max;
    note(`GET /api/v4/clients pages ${pages.join(', ')} (${CLIENT_PAGE} rows): worst p50 ${cp.p50.toFixed(2)} ms, p99 ${cp.p99.toFixed(2)} ms`);

    // The whole route table, page by page.
    const rp = await pageRoutes(api, gateway);
    Object.assign(metrics, rp, { routesSeenRatio: routes ? rp.routesSeen! / routes : NaN });
    if (rp.routesSeen !== routes) warnings.push(`GET /routes paged ${rp.routesSeen} rows, Redis holds ${routes} routes`);
    note(
      `GET /api/v4/routes: ${rp.routesSeen} rows in ${rp.routesPages} pages of ${ROUTE_PAGE} (${rp.routesPagingS!.toFixed(1)} s, page p99 ${rp.routesPageP99!.toFixed(0)} ms); gateway RSS grew ${rp.gatewayRssGrowthMB!.toFixed(0)} MB`,
    );

    // A node killed and restarted: it loads the others' routes before it listens.
    metrics.rejoinMs = await restartNode(ctx, NODES - 1);
    metrics.rejoinRoutes = routes - routes / NODES;
    note(`node ${NODES} killed and restarted: listening after ${metrics.rejoinMs.toFixed(0)} ms with ~${Math.round(metrics.rejoinRoutes)} remote routes loaded (${metrics.emptyRestartMs.toFixed(0)} ms with an empty table)`);
    await waitFor('restarted node', 15000, nodesSeen);
    assertAlive(ctx);
    if (gateway.exited()) throw new Error(`gateway ${gateway.exited()}`);
    warnings.push(...loggedWarnings(ctx));
    return {
      metrics,
      // server CPU of the latency window (the one steady phase)
      brokerCpu: lat.brokerCpu,
      procCpu: lat.procCpu,
      genCpu: Object.fromEntries(gens.map((g, k) => [g.name, cpuFraction(s0[k]!, s1[k]!)])),
      warnings,
      details,
    };
  } catch (err) {
    // what the nodes logged tells why a phase failed; the result is lost with the throw
    const said = loggedWarnings(ctx);
    throw new Error(`${(err as Error).message}${said.length ? `; the nodes logged: ${said.join(' | ')}` : ''}`, { cause: err });
  } finally {
    api?.close();
    await gateway?.stop();
    await Promise.all(gens.map((g) => g.close()));
  }
}

export const scale: Scenario = {
  id: 'scale',
  title: 'Scale: 6 nodes, 100,000 clients, 1,000,000 routes',
  nodes: NODES,
  cluster: true,
  brokers: ['starling'],
  optIn: true,
  calibration: 'cpu',
  genCostMetric: 'genCpuUsPerConn',
  budgetMs: 900000,
  metrics: [
    { key: 'rejoinMs', label: 'rejoin (route load)', unit: 'ms', better: 'lower', digits: 0 },
    { key: 'xnodeP99', label: 'xnode p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'clientsPageP99', label: 'clients page p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'routesPageP99', label: 'routes page p99', unit: 'ms', better: 'lower', digits: 0 },
    { key: 'redisBytesPerRoute', label: 'Redis/route', unit: 'B', better: 'lower', digits: 0 },
    { key: 'rssKBPerClient', label: 'node RSS/client', unit: 'KB', better: 'lower', digits: 1 },
  ],
  note: `Scale scenario (opt-in, --scenarios=scale; --scale-clients=N scales it down): nats-server, redis-server, 6 nodes, a gateway and 6 generator processes share the machine's cores. "rejoin" is a SIGKILLed node's restart until its MQTT listener is up, which it opens after loading the route table from Redis (emptyRestartMs: the same restart before any route). Node RSS per client includes the node's copy of every other node's routes. Host ${HOST}.`,
  run,
};
