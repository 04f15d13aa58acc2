/**
 * The web dashboard's cost (Starling only), two measures:
 * - first load: GET /dashboard/ and every asset index.html references, in bytes as served
 *   and gzip-compressed (the gateway serves them uncompressed: a reverse proxy or the
 *   browser-facing listener compresses them, so the compressed size is computed here with
 *   gzip's default level, what such a proxy sends);
 * - 50 open dashboards: the cross-node QoS 0 setup measured without and with 50 pollers
 *   doing what the overview page does (GET /metrics and GET /api/v4/nodes every 3 s, each
 *   poller starting at its own offset), alternating. The gateway keeps its default scrape
 *   cache, so the nodes should see one metrics.scrape per cache interval however many
 *   dashboards poll. The RPCs are counted on NATS itself: the bench subscribes to each
 *   node's RPC subject (a plain subscriber gets a copy of every request) and reads their
 *   methods.
 */
import http from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsServers } from '../../../shared/cluster/nats/connection.js';
import { rpcSubject } from '../../../shared/cluster/subjects.js';
import { HOST, startGateway, type RunningBroker } from '../brokers.js';
import { sleep } from '../procs.js';
import { untilScrapes } from './scrape.js';
import { measure, range } from './throughput.js';
import type { Scenario, ScenarioContext, ScenarioResult } from './types.js';

const DASHBOARDS = 50;
/** the overview's polling period (dashboard/pages/overview/history.ts SAMPLE_MS) */
const POLL_MS = 3000;
/** the gateway's default STARLING_METRICS_CACHE_MS */
const CACHE_MS = 1000;
const ROUNDS = 2;
const AUTH = `Basic ${Buffer.from('admin:public').toString('base64')}`;
const SHAPE = { pubTopics: range(10, (i) => `bench/${i}`), subTopics: range(10, (i) => `bench/${i}`), qos: 0 as const, pubNode: 0, subNode: 1 };

function get(port: number, path: string, agent?: http.Agent): Promise<{ status: number; body: Buffer; encoding: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path, agent, headers: { authorization: AUTH, 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), encoding: res.headers['content-encoding'] }));
    });
    req.once('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${path}: no answer within 5 s`)));
  });
}

/** What index.html references (scripts, stylesheets, icons): paths below /dashboard/. */
export function referencedAssets(html: string): string[] {
  const out = new Set<string>();
  for (const m of html.matchAll(/\b(?:src|href)="([^"#?]+)"/g)) {
    const ref = m[1]!;
    if (/^[a-z]+:/i.test(ref) || ref.startsWith('//')) throw new Error(`index.html references ${ref}: a request leaving the gateway`);
    out.add(ref.startsWith('/') ? ref : `/dashboard/${ref}`);
  }
  return [...out];
}

/** The first load's bytes: as served, and gzip-compressed (what the gateway sent when it compressed, else gzip's default level). */
async function firstLoad(port: number): Promise<{ raw: number; gzip: number; served: number; files: string[]; compressedByGateway: boolean }> {
  const index = await get(port, '/dashboard/');
  if (index.status !== 200) throw new Error(`GET /dashboard/: HTTP ${index.status}`);
  const files = [{ path: '/dashboard/', ...index }];
  const html = index.encoding === 'gzip' ? gunzipSync(index.body).toString() : index.body.toString();
  for (const path of referencedAssets(html)) {
    const r = await get(port, path);
    if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}`);
    files.push({ path, ...r });
  }
  let raw = 0;
  let gzip = 0;
  let served = 0;
  for (const f of files) {
    served += f.body.length;
    const plain = f.encoding === 'gzip' ? gunzipSync(f.body) : f.body;
    raw += plain.length;
    gzip += f.encoding === 'gzip' ? f.body.length : gzipSync(plain).length;
  }
  return { raw, gzip, served, files: files.map((f) => `${f.path} ${f.body.length} B${f.encoding ? ` (${f.encoding})` : ''}`), compressedByGateway: files.every((f) => f.encoding === 'gzip') };
}

/** Counts the RPC requests each node receives, by method, from NATS. */
class RpcCounter {
  readonly counts = new Map<string, Map<string, number>>();
  private constructor(private readonly nc: NatsConnection) {}

  static async start(natsUrl: string, nodes: string[]): Promise<RpcCounter> {
    const nc = await connect({ servers: natsServers(natsUrl) });
    const c = new RpcCounter(nc);
    for (const node of nodes) {
      const byMethod = new Map<string, number>();
      c.counts.set(node, byMethod);
      nc.subscribe(rpcSubject(node), {
        callback: (_err, msg) => {
          try {
            const method = String((JSON.parse(msg.string()) as { method?: unknown }).method);
            byMethod.set(method, (byMethod.get(method) ?? 0) + 1);
          } catch {
            // not an RPC request of ours
          }
        },
      });
    }
    await nc.flush();
    return c;
  }

  /** The counts of `method` per node, then zeroed. */
  take(method: string): number[] {
    return [...this.counts.values()].map((m) => {
      const n = m.get(method) ?? 0;
      m.delete(method);
      return n;
    });
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}

/** One open dashboard's overview: /metrics and /api/v4/nodes every POLL_MS, from `offsetMs` on. */
class Pollers {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: DASHBOARDS * 2 });
  private timers: NodeJS.Timeout[] = [];
  private inFlight = 0;
  polls = 0;
  failures = 0;
  firstFailure = '';

  constructor(private readonly port: number) {}

  start(n: number): void {
    for (let i = 0; i < n; i++) {
      const first = setTimeout(() => {
        this.poll();
        this.timers.push(setInterval(() => this.poll(), POLL_MS));
      }, (i * POLL_MS) / n);
      this.timers.push(first);
    }
  }

  private poll(): void {
    for (const path of ['/metrics', '/api/v4/nodes']) {
      this.inFlight++;
      get(this.port, path, this.agent).then(
        (r) => {
          this.inFlight--;
          if (r.status === 200) this.polls++;
          else this.fail(`${path}: HTTP ${r.status}`);
        },
        (e: unknown) => {
          this.inFlight--;
          this.fail(`${path}: ${(e as Error).message}`);
        },
      );
    }
  }

  private fail(why: string): void {
    this.failures++;
    this.firstFailure ||= why;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    while (this.inFlight > 0) await sleep(5);
    this.agent.destroy();
  }
}

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  if (!ctx.clusterEnv) throw new Error('the dashboard scenario needs a cluster');
  let gateway: RunningBroker | undefined;
  let counter: RpcCounter | undefined;
  try {
    gateway = await startGateway({ ...ctx.clusterEnv, STARLING_METRICS_CACHE_MS: String(CACHE_MS) });
    const gw = gateway;
    await untilScrapes(gw.port, ctx.brokers.length);
    const load = await firstLoad(gw.port);
    ctx.log(`first load: ${load.raw} B, ${load.gzip} B gzip (${load.files.length} files)`);
    const nodes = ((JSON.parse((await get(gw.port, '/api/v4/nodes')).body.toString()) as { data: { node: string }[] }).data ?? []).map((n) => n.node);
    counter = await RpcCounter.start(ctx.clusterEnv.NATS_URL!, nodes);

    const without: ScenarioResult[] = [];
    const withPollers: ScenarioResult[] = [];
    const warnings: string[] = [];
    const scrapesPerInterval: number[] = [];
    const nodesGetPerS: number[] = [];
    let polls = 0;
    let gwCpu = 0;
    for (let round = 0; round < ROUNDS; round++) {
      without.push(await measure(ctx, SHAPE));
      ctx.log(`without dashboards: ${Math.round(without.at(-1)!.metrics.rate!)} msg/s`);
      const pollers = new Pollers(gw.port);
      counter.take('metrics.scrape');
      counter.take('nodes.get');
      const cpu0 = gw.cpuSeconds();
      const t0 = performance.now();
      pollers.start(DASHBOARDS);
      withPollers.push(await measure(ctx, SHAPE));
      await pollers.stop();
      const seconds = (performance.now() - t0) / 1000;
      gwCpu += (gw.cpuSeconds() - cpu0) / seconds / ROUNDS;
      // per node: the scrape RPCs it was asked per cache interval of the run. Fetches are at
      // least CACHE_MS apart, so a window of W ms holds at most floor(W / CACHE_MS) + 1: that
      // is the number of intervals a window touches, and 1 per interval the best a cache can do
      const scrapes = counter.take('metrics.scrape');
      scrapesPerInterval.push(Math.max(...scrapes) / (Math.floor((seconds * 1000) / CACHE_MS) + 1));
      nodesGetPerS.push(Math.max(...counter.take('nodes.get')) / seconds);
      polls += pollers.polls;
      if (pollers.failures) warnings.push(`${pollers.failures} dashboard polls failed (${pollers.firstFailure})`);
      ctx.log(`with ${DASHBOARDS} dashboards: ${Math.round(withPollers.at(-1)!.metrics.rate!)} msg/s, metrics.scrape per node ${scrapes.join('/')} in ${seconds.toFixed(1)} s`);
    }
    const mean = (rs: ScenarioResult[]) => rs.reduce((a, r) => a + r.metrics.rate!, 0) / rs.length;
    const rateWithout = mean(without);
    const rateWith = mean(withPollers);
    const change = Math.abs(rateWith / rateWithout - 1);
    const scrapes = Math.max(...scrapesPerInterval);
    const last = withPollers.at(-1)!;
    for (const r of [...without, ...withPollers]) warnings.push(...(r.warnings ?? []));
    return {
      metrics: { firstLoadGzipKB: load.gzip / 1024, firstLoadKB: load.raw / 1024, change, rateWithout, rateWith, scrapesPerInterval: scrapes, nodesGetPerS: Math.max(...nodesGetPerS), gatewayCpu: gwCpu, compressedByGateway: load.compressedByGateway ? 1 : 0 },
      brokerCpu: last.brokerCpu,
      procCpu: { ...last.procCpu, gateway: gwCpu },
      genCpu: last.genCpu,
      warnings: [...new Set(warnings)],
      details: [
        `first load: ${load.files.join(', ')}; ${load.raw} B in all, ${load.gzip} B gzip-compressed (${load.compressedByGateway ? 'as the gateway sent them' : 'computed by the bench: the gateway serves them uncompressed'})`,
        `delivered msg/s without dashboards: ${without.map((r) => Math.round(r.metrics.rate!)).join(', ')}; with ${DASHBOARDS} polling every ${POLL_MS / 1000} s: ${withPollers.map((r) => Math.round(r.metrics.rate!)).join(', ')} (${polls} polls answered; metrics.scrape RPCs per node per ${CACHE_MS} ms interval ${scrapesPerInterval.map((s) => s.toFixed(2)).join(', ')}; nodes.get RPCs per node per s ${nodesGetPerS.map((s) => s.toFixed(1)).join(', ')}; gateway CPU ${Math.round(gwCpu * 100)}% of a core)`,
      ],
    };
  } finally {
    await counter?.close();
    await gateway?.stop();
  }
}

export const dashboard: Scenario = {
  id: 'dashboard',
  title: `Dashboard first load, and ${DASHBOARDS} open dashboards under cross-node QoS 0`,
  nodes: 2,
  cluster: true,
  brokers: ['starling'],
  calibration: 'relay',
  metrics: [
    { key: 'firstLoadGzipKB', label: 'first load, gzip', unit: 'KB', better: 'lower', digits: 1 },
    { key: 'change', label: `throughput change with ${DASHBOARDS} dashboards`, unit: 'x', better: 'lower', digits: 3 },
    { key: 'rateWithout', label: 'delivered, no dashboards', unit: 'msg/s', better: 'higher' },
    { key: 'rateWith', label: `delivered, ${DASHBOARDS} dashboards`, unit: 'msg/s', better: 'higher' },
    { key: 'scrapesPerInterval', label: 'metrics.scrape per node per cache interval', unit: '', better: 'lower', digits: 2 },
  ],
  budgetMs: 240000,
  note:
    `Dashboard (dashboard): the first load is GET /dashboard/ and every asset its index.html references, gzip-compressed at the default level when the gateway does not compress them itself. ` +
    `Then the xnode-qos0 setup measured ${ROUNDS} times without and ${ROUNDS} times with ${DASHBOARDS} simulated dashboards (the bench process) each polling GET /metrics and GET /api/v4/nodes every ${POLL_MS / 1000} s as the overview page does, alternating, the gateway's scrape cache at its default ${CACHE_MS} ms; metrics.scrape RPCs are counted on NATS (the worst node).`,
  run,
};
