/**
 * The web dashboard's cost (Starling only), two measures:
 * - first load: GET /dashboard/ and every asset index.html references, in bytes as served
 *   and gzip-compressed (the gateway serves them uncompressed: a reverse proxy or the
 *   browser-facing listener compresses them, so the compressed size is computed here with
 *   gzip's default level, what such a proxy sends);
 * - 50 open dashboards: the cross-node QoS 0 setup measured without and with 50 pollers
 *   doing what the overview page does (GET /metrics every 3 s for its charts, and the
 *   shell's GET /api/v4/nodes every 5 s for the node banner and the overview's table, each
 *   poller starting at its own offset,
 *   each poll with `Cache-Control: max-age` of its period as the dashboard's timers send),
 *   alternating. The gateway keeps its default cache interval, so the nodes should see one
 *   metrics.scrape and one nodes.get per cache interval however many dashboards poll. The
 *   RPCs are counted on NATS itself: the bench subscribes to each node's RPC subject (a
 *   plain subscriber gets a copy of every request) and reads their methods.
 */
import http from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsServers } from '../../../shared/cluster/nats/connection.js';
import { rpcSubject } from '../../../shared/cluster/subjects.js';
import { HOST, startGateway, type RunningBroker } from '../brokers.js';
import { sleep } from '../procs.js';
import { untilScrapes } from './scrape.js';
import { alternating, range } from './throughput.js';
import type { Scenario, ScenarioContext, ScenarioResult } from './types.js';

const DASHBOARDS = 50;
/** the overview's polling period (dashboard/pages/overview/history.ts SAMPLE_MS) */
const POLL_MS = 3000;
/** what an open overview polls: its charts' /metrics (pages/overview/history.ts), the shell's /nodes (lib/nodes.tsx NODES_POLL_MS, the overview's table too) */
const POLLS: readonly [path: string, everyMs: number][] = [
  ['/metrics', POLL_MS],
  ['/api/v4/nodes', 5000],
];
/** the gateway's default STARLING_METRICS_CACHE_MS */
const CACHE_MS = 1000;
/** A/B windows on one running load (throughput.ts alternating) */
const PAIRS = 12;
const WINDOW_MS = 3000;
const SETTLE_MS = 500;
const AUTH = `Basic ${Buffer.from('admin:public').toString('base64')}`;
const SHAPE = { pubTopics: range(10, (i) => `bench/${i}`), subTopics: range(10, (i) => `bench/${i}`), qos: 0 as const, pubNode: 0, subNode: 1 };

function get(port: number, path: string, agent?: http.Agent, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; encoding: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path, agent, headers: { authorization: AUTH, 'accept-encoding': 'gzip', ...headers } }, (res) => {
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

/**
 * Open dashboards' overviews: each one's POLLS, from its own offset on. They run from
 * start() to stop(), polling only while `active` (their phases stay spread as a real
 * crowd's are, so switching them on is at once the steady load).
 */
class Pollers {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: DASHBOARDS * POLLS.length });
  private timers: NodeJS.Timeout[] = [];
  private inFlight = 0;
  active = false;
  polls = 0;
  failures = 0;
  firstFailure = '';

  constructor(private readonly port: number) {}

  start(n: number): void {
    for (let i = 0; i < n; i++) {
      for (const [path, everyMs] of POLLS) {
        const first = setTimeout(() => {
          this.poll(path, everyMs);
          this.timers.push(setInterval(() => this.poll(path, everyMs), everyMs));
        }, (i * everyMs) / n);
        this.timers.push(first);
      }
    }
  }

  private poll(path: string, everyMs: number): void {
    if (!this.active) return;
    this.inFlight++;
    get(this.port, path, this.agent, { 'cache-control': `max-age=${everyMs / 1000}` }).then(
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

  private fail(why: string): void {
    this.failures++;
    this.firstFailure ||= why;
  }

  /** Until the polls in flight are answered. */
  async idle(): Promise<void> {
    while (this.inFlight > 0) await sleep(5);
  }

  async stop(): Promise<void> {
    this.active = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    await this.idle();
    this.agent.destroy();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  if (!ctx.clusterEnv) throw new Error('the dashboard scenario needs a cluster');
  let gateway: RunningBroker | undefined;
  let counter: RpcCounter | undefined;
  let pollers: Pollers | undefined;
  try {
    gateway = await startGateway({ ...ctx.clusterEnv, STARLING_METRICS_CACHE_MS: String(CACHE_MS) });
    const gw = gateway;
    await untilScrapes(gw.port, ctx.brokers.length);
    const load = await firstLoad(gw.port);
    ctx.log(`first load: ${load.raw} B, ${load.gzip} B gzip (${load.files.length} files)`);
    const nodes = ((JSON.parse((await get(gw.port, '/api/v4/nodes')).body.toString()) as { data: { node: string }[] }).data ?? []).map((n) => n.node);
    const rpcs = (counter = await RpcCounter.start(ctx.clusterEnv.NATS_URL!, nodes));
    const crowd = (pollers = new Pollers(gw.port));
    crowd.start(DASHBOARDS);

    // per window with the dashboards on: the worst node's RPCs per cache interval. Fetches
    // are at least CACHE_MS apart, so a window of W ms holds at most floor(W / CACHE_MS) + 1:
    // that is the number of intervals a window touches, and 1 per interval the best a cache can do
    const scrapesPerInterval: number[] = [];
    const nodesGetsPerInterval: number[] = [];
    let onSince = 0;
    let onSeconds = 0;
    let gwCpu0 = 0;
    let gwCpu = 0;
    // the simulated browsers' own CPU (this process, mostly idle otherwise): real ones are elsewhere
    let ownCpu0 = process.cpuUsage();
    let ownCpu = 0;
    const toggle = async (on: boolean): Promise<void> => {
      if (on === crowd.active) return;
      if (on) {
        rpcs.take('metrics.scrape');
        rpcs.take('nodes.get');
        gwCpu0 = gw.cpuSeconds();
        ownCpu0 = process.cpuUsage();
        onSince = performance.now();
        crowd.active = true;
        return;
      }
      crowd.active = false;
      await crowd.idle();
      const ms = performance.now() - onSince;
      onSeconds += ms / 1000;
      gwCpu += gw.cpuSeconds() - gwCpu0;
      const own = process.cpuUsage(ownCpu0);
      ownCpu += (own.user + own.system) / 1e6;
      const intervals = Math.floor(ms / CACHE_MS) + 1;
      scrapesPerInterval.push(Math.max(...rpcs.take('metrics.scrape')) / intervals);
      nodesGetsPerInterval.push(Math.max(...rpcs.take('nodes.get')) / intervals);
    };
    const ab = await alternating(ctx, SHAPE, { pairs: PAIRS, windowMs: WINDOW_MS, settleMs: SETTLE_MS, toggle });
    const ratio = median(ab.ratios);
    const change = Math.abs(ratio - 1);
    const gatewayCpu = gwCpu / onSeconds;
    const pollersCpu = ownCpu / onSeconds;
    const warnings: string[] = [];
    if (crowd.failures) warnings.push(`${crowd.failures} dashboard polls failed (${crowd.firstFailure})`);
    ctx.log(`with/without ${DASHBOARDS} dashboards, per pair: ${ab.ratios.map((r) => r.toFixed(3)).join(', ')}; median ${ratio.toFixed(3)}`);
    const round = (xs: number[]) => xs.map((r) => Math.round(r)).join(', ');
    return {
      metrics: {
        firstLoadGzipKB: load.gzip / 1024,
        firstLoadKB: load.raw / 1024,
        change,
        rateWithout: median(ab.off),
        rateWith: median(ab.on),
        scrapesPerInterval: Math.max(...scrapesPerInterval),
        nodesGetsPerInterval: Math.max(...nodesGetsPerInterval),
        gatewayCpu,
        pollersCpu,
        compressedByGateway: load.compressedByGateway ? 1 : 0,
      },
      brokerCpu: ab.brokerCpu,
      procCpu: { ...ab.procCpu, gateway: gatewayCpu },
      genCpu: ab.genCpu,
      warnings,
      details: [
        `first load: ${load.files.join(', ')}; ${load.raw} B in all, ${load.gzip} B gzip-compressed (${load.compressedByGateway ? 'as the gateway sent them' : 'computed by the bench: the gateway serves them uncompressed'})`,
        `delivered msg/s in ${PAIRS} pairs of ${WINDOW_MS / 1000} s windows, without dashboards: ${round(ab.off)}; with ${DASHBOARDS} polling: ${round(ab.on)}; ratio per pair ${ab.ratios.map((r) => r.toFixed(3)).join(', ')}, median ${ratio.toFixed(3)} (${crowd.polls} polls answered; per node per ${CACHE_MS} ms interval, metrics.scrape ${scrapesPerInterval.map((x) => x.toFixed(2)).join(', ')}, nodes.get ${nodesGetsPerInterval.map((x) => x.toFixed(2)).join(', ')}; gateway CPU ${Math.round(gatewayCpu * 100)}% of a core while polled, the simulated dashboards' ${Math.round(pollersCpu * 100)}% on the same machine)`,
      ],
    };
  } finally {
    await pollers?.stop();
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
    { key: 'nodesGetsPerInterval', label: 'nodes.get per node per cache interval', unit: '', better: 'lower', digits: 2 },
  ],
  budgetMs: 240000,
  note:
    `Dashboard (dashboard): the first load is GET /dashboard/ and every asset its index.html references, gzip-compressed at the default level when the gateway does not compress them itself. ` +
    `Then one run of the xnode-qos0 setup, measured in ${PAIRS} pairs of adjacent ${WINDOW_MS / 1000} s windows (ABBA order) without and with ${DASHBOARDS} simulated dashboards (the bench process) each polling GET /metrics every ${POLL_MS / 1000} s and GET /api/v4/nodes every 5 s as the overview page and the shell around it do (with Cache-Control: max-age of the period, as the dashboard's timers send); the change is the median pair's ratio, the gateway's cache at its default ${CACHE_MS} ms; metrics.scrape and nodes.get RPCs are counted on NATS (the worst node).`,
  run,
};
