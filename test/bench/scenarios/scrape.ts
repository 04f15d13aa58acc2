/**
 * GET /metrics under MQTT load (Starling only): the cross-node QoS 0 setup (2 nodes,
 * publishers on node 1, subscribers on node 2) plus a gateway, measured in alternating
 * runs without and with a scraper polling the gateway's /metrics 10 times a second. The
 * gateway's scrape cache is off (STARLING_METRICS_CACHE_MS=0), so every scrape costs each
 * node one `metrics.scrape` RPC (scrapes arriving while a round runs share it, as the
 * gateway always does): up to 10 RPCs a second per node, the worst case of 10 Prometheus
 * servers (a cached gateway asks once per interval). The headline is the ratio of the
 * delivered rates, with / without; the scrapes' latency under that load is reported too.
 */
import http from 'node:http';
import { HOST, startGateway, type RunningBroker } from '../brokers.js';
import { sleep } from '../procs.js';
import { measure, range } from './throughput.js';
import type { Scenario, ScenarioContext, ScenarioResult } from './types.js';

const SCRAPES_PER_S = 10;
/** Runs of each kind, alternating (without, with, without, with): drift over time hits both. */
const ROUNDS = 2;

/** Why a /metrics answer is not a good scrape of `nodes` live nodes, or null. */
export function scrapeFailure(status: number, body: string, nodes: number): string | null {
  if (status !== 200) return `HTTP ${status} ${body.slice(0, 200)}`;
  const up = body.match(/^starling_node_up\{node="[^"]+"\} 1$/gm)?.length ?? 0;
  return up === nodes ? null : `${up} of ${nodes} nodes up: ${body.slice(0, 200)}`;
}

/** Scrapes in flight at most: as many independent Prometheus servers as scrapes a second. */
const MAX_IN_FLIGHT = 10;

/**
 * GET /metrics every 1/rate s whether or not the previous one has answered (as independent
 * Prometheus servers would), up to MAX_IN_FLIGHT at once; a tick beyond that is skipped.
 */
export class Scraper {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  done = 0;
  skipped = 0;
  failures = 0;
  firstFailure = '';
  /** latency of each answered scrape, ms */
  readonly ms: number[] = [];
  private t0 = 0;

  constructor(
    private readonly port: number,
    private readonly nodes: number,
  ) {}

  start(rate: number): void {
    this.t0 = performance.now();
    this.timer = setInterval(() => {
      if (this.inFlight >= MAX_IN_FLIGHT) {
        this.skipped++;
        return;
      }
      this.inFlight++;
      const t = performance.now();
      void this.once().then((why) => {
        this.inFlight--;
        this.ms.push(performance.now() - t);
        if (!why) return void this.done++;
        this.failures++;
        this.firstFailure ||= why;
      });
    }, 1000 / rate);
  }

  /** Stops once the scrapes in flight are answered; resolves with the scrapes per second answered. */
  async stop(): Promise<number> {
    clearInterval(this.timer);
    const seconds = (performance.now() - this.t0) / 1000;
    while (this.inFlight > 0) await sleep(5);
    this.close();
    return this.done / seconds;
  }

  /** One scrape: why it failed, or null. */
  once(): Promise<string | null> {
    return new Promise((resolve) => {
      const req = http.get({ host: HOST, port: this.port, path: '/metrics', agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('error', (e) => resolve(e.message));
        res.once('end', () => resolve(scrapeFailure(res.statusCode ?? 0, Buffer.concat(chunks).toString(), this.nodes)));
      });
      req.once('error', (e) => resolve(e.message));
      req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Resolves once the gateway's /metrics shows every node up (it sees them by their heartbeats in Redis). */
export async function untilScrapes(port: number, nodes: number): Promise<void> {
  const probe = new Scraper(port, nodes);
  try {
    for (const t = Date.now(); ; await sleep(100)) {
      const why = await probe.once();
      if (!why) return;
      if (Date.now() - t > 10000) throw new Error(`gateway /metrics after 10 s: ${why}`);
    }
  } finally {
    probe.close();
  }
}

const SHAPE = { pubTopics: range(10, (i) => `bench/${i}`), subTopics: range(10, (i) => `bench/${i}`), qos: 0 as const, pubNode: 0, subNode: 1 };

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  if (!ctx.clusterEnv) throw new Error('the scrape scenario needs a cluster');
  let gateway: RunningBroker | undefined;
  try {
    gateway = await startGateway({ ...ctx.clusterEnv, STARLING_METRICS_CACHE_MS: '0' });
    const gw = gateway;
    await untilScrapes(gw.port, ctx.brokers.length);
    const without: ScenarioResult[] = [];
    const withScraper: ScenarioResult[] = [];
    const warnings: string[] = [];
    const details: string[] = [];
    const rates: number[] = [];
    const latencies: number[] = [];
    let gwCpu = 0;
    for (let round = 0; round < ROUNDS; round++) {
      without.push(await measure(ctx, SHAPE));
      ctx.log(`without scraper: ${Math.round(without.at(-1)!.metrics.rate!)} msg/s`);
      const scraper = new Scraper(gw.port, ctx.brokers.length);
      const cpu0 = gw.cpuSeconds();
      const t0 = performance.now();
      scraper.start(SCRAPES_PER_S);
      withScraper.push(await measure(ctx, SHAPE));
      const rate = await scraper.stop();
      gwCpu += (gw.cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000) / ROUNDS;
      rates.push(rate);
      if (scraper.failures) warnings.push(`${scraper.failures} scrapes failed (${scraper.firstFailure})`);
      if (rate < SCRAPES_PER_S * 0.9) warnings.push(`the scraper reached ${rate.toFixed(1)} scrapes/s of ${SCRAPES_PER_S} (${scraper.skipped} ticks skipped with ${MAX_IN_FLIGHT} scrapes in flight)`);
      latencies.push(...scraper.ms);
      ctx.log(`with ${rate.toFixed(1)} scrapes/s: ${Math.round(withScraper.at(-1)!.metrics.rate!)} msg/s`);
    }
    const mean = (rs: ScenarioResult[]) => rs.reduce((a, r) => a + r.metrics.rate!, 0) / rs.length;
    const rateWithout = mean(without);
    const rateWith = mean(withScraper);
    const scrapesPerS = rates.reduce((a, b) => a + b, 0) / rates.length;
    const sorted = Float64Array.from(latencies).sort();
    const q = (f: number) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] ?? NaN;
    details.push(
      `delivered msg/s without scraper: ${without.map((r) => Math.round(r.metrics.rate!)).join(', ')}; with ${SCRAPES_PER_S}/s uncached scrapes: ${withScraper.map((r) => Math.round(r.metrics.rate!)).join(', ')} (scrapes/s ${rates.map((r) => r.toFixed(1)).join(', ')}, scrape latency under load p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, gateway CPU ${Math.round(gwCpu * 100)}% of a core)`,
    );
    const last = withScraper.at(-1)!;
    for (const r of [...without, ...withScraper]) warnings.push(...(r.warnings ?? []));
    return {
      metrics: { ratio: rateWith / rateWithout, rateWithout, rateWith, scrapesPerS, scrapeLoadedP50: q(0.5), scrapeLoadedP99: q(0.99), gatewayCpu: gwCpu },
      brokerCpu: last.brokerCpu,
      procCpu: { ...last.procCpu, gateway: gwCpu },
      genCpu: last.genCpu,
      warnings: [...new Set(warnings)],
      details,
    };
  } finally {
    await gateway?.stop();
  }
}

export const xnodeScrape: Scenario = {
  id: 'xnode-scrape',
  title: `Cross-node QoS 0 with ${SCRAPES_PER_S} /metrics scrapes/s`,
  nodes: 2,
  cluster: true,
  brokers: ['starling'],
  calibration: 'relay',
  metrics: [
    { key: 'ratio', label: 'with/without scraper', unit: 'x', better: 'higher', digits: 3 },
    { key: 'rateWithout', label: 'delivered, no scraper', unit: 'msg/s', better: 'higher' },
    { key: 'rateWith', label: `delivered, ${SCRAPES_PER_S} scrapes/s`, unit: 'msg/s', better: 'higher' },
    { key: 'scrapesPerS', label: 'scrapes', unit: '/s', better: 'higher', digits: 1 },
  ],
  budgetMs: 240000,
  note:
    `Cross-node QoS 0 with scrapes (xnode-scrape): the xnode-qos0 setup measured ${ROUNDS} times without and ${ROUNDS} times with a scraper (the bench process) calling a gateway's GET /metrics ${SCRAPES_PER_S} times a second (each tick whether or not the last has answered, up to ${MAX_IN_FLIGHT} in flight, as independent Prometheus servers), alternating; the gateway's scrape cache is off, so every scrape is one metrics.scrape RPC to each node, except that scrapes arriving while a round runs share it (a worst case: a cached gateway asks once per STARLING_METRICS_CACHE_MS whatever the number of scrapers). ` +
    'The gateway shares the machine\'s cores with the nodes, so its own CPU for rendering the scrapes counts against them here, unlike a deployment with the gateway on its own machine.',
  run,
};
