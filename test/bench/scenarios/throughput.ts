/** Message-rate scenarios: N publishers flood, M subscribers count what arrives. */
import { cpuFraction, Gen } from '../loadgen/client.js';
import { sleep } from '../procs.js';
import { assertAlive, loggedWarnings, serverCpu, serverCpuSample, waitForRoutes } from './servers.js';
import type { Scenario, ScenarioContext, ScenarioResult } from './types.js';

export interface Shape {
  pubTopics: string[];
  subTopics: string[];
  qos: 0 | 1;
  /** Cluster: publishers connect to brokers[pubNode], subscribers to brokers[subNode] (default 0, 0). */
  pubNode?: number;
  subNode?: number;
  /** subscribers with persistent sessions (clean session 0) */
  persistent?: boolean;
  /** client id prefixes (default bench-sub-, bench-pub-): runs on one cluster keep apart */
  prefix?: string;
}

export async function measure(ctx: ScenarioContext, shape: Shape): Promise<ScenarioResult> {
  const pubBroker = ctx.brokers[shape.pubNode ?? 0]!;
  const subBroker = ctx.brokers[shape.subNode ?? 0]!;
  const crossNode = pubBroker !== subBroker;
  const { opts } = ctx;
  // Publishers and subscribers in one process (default: with the broker that makes two
  // busy processes for two cores, so the QoS 1 round trip never waits for a CPU), or in
  // two (their CPU use then shows separately).
  const subGen = Gen.spawn(opts.genProcs === 1 ? 'gen' : 'sub');
  const pubGen = opts.genProcs === 1 ? subGen : Gen.spawn('pub');
  try {
    await subGen.call('setup', 'sub', {
      host: subBroker.host,
      port: subBroker.port,
      clientPrefix: `${shape.prefix ?? 'bench-'}sub-`,
      topics: shape.subTopics,
      qos: shape.qos,
      payloadSize: opts.payloadSize,
      persistent: shape.persistent,
    });
    await pubGen.call('setup', 'pub', {
      host: pubBroker.host,
      port: pubBroker.port,
      clientPrefix: `${shape.prefix ?? 'bench-'}pub-`,
      topics: shape.pubTopics,
      qos: shape.qos,
      payloadSize: opts.payloadSize,
      window: opts.qos1Window,
      chunkBytes: 32 * 1024,
    });
    await pubGen.call('start');
    // Cross-node: the subscriptions reach the publishers' node as routes through Redis
    // some time after SUBACK; the warmup starts once every subscriber receives.
    const routeWaitMs = crossNode ? await waitForRoutes(ctx, subGen, (s) => !!s.perSub?.every((n) => n > 0)) : undefined;
    await sleep(opts.warmupMs);
    const snapAll = async () => {
      const [p, s] = pubGen === subGen ? await pubGen.snap().then((x) => [x, x]) : await Promise.all([pubGen.snap(), subGen.snap()]);
      return [p, s, serverCpuSample(ctx)] as const;
    };
    const [p0, s0, c0] = await snapAll();
    const rss0 = ctx.brokers.map((b) => b.rssKB() / 1024);
    await sleep(opts.durationMs);
    const [p1, s1, c1] = await snapAll();
    const rss = ctx.brokers.map((b) => b.rssKB() / 1024);
    assertAlive(ctx);

    const subSec = (s1.t - s0.t) / 1000;
    const pubSec = (p1.t - p0.t) / 1000;
    const rate = (s1.counters.received - s0.counters.received) / subSec;
    const pubRate = (p1.counters.sent - p0.counters.sent) / pubSec;
    const ackRate = (p1.counters.acked - p0.counters.acked) / pubSec;
    const warnings: string[] = [];
    if (s1.counters.errors || p1.counters.errors) {
      warnings.push(`socket errors: pub ${p1.counters.errors}, sub ${s1.counters.errors} (${p1.lastError || s1.lastError})`);
    }
    if (rate === 0) warnings.push('nothing delivered in the window');
    warnings.push(...loggedWarnings(ctx));
    // Cross-node: a node whose memory keeps growing holds messages it cannot pass on (the
    // publishers' node accepting faster than it forwards): the rate is then not steady.
    if (crossNode) {
      rss.forEach((mb, i) => {
        if (mb - rss0[i]! > 50) {
          warnings.push(`node${i + 1} RSS grew ${Math.round(rss0[i]!)} -> ${Math.round(mb)} MB in the window (publishers sent ${Math.round(pubRate)} msg/s, subscribers got ${Math.round(rate)} msg/s): messages pile up in node${i + 1}`);
        }
      });
    }
    const bad = s1.counters.bad - s0.counters.bad;
    if (bad) warnings.push(`${bad} of ${s1.counters.received - s0.counters.received} PUBLISHes had the wrong size, QoS or topic`);
    // QoS 1: a PUBACKed message must reach its subscriber; a gap means drops (or a queue
    // growing without bound). QoS 0 has no such check: megabytes of it sit in socket
    // buffers, so the publish rate over a short window says little.
    if (shape.qos === 1 && ackRate > rate * 1.02) {
      warnings.push(`publishers got ${Math.round(ackRate)} PUBACK/s but subscribers received ${Math.round(rate)} msg/s: ${Math.round(100 * (1 - rate / ackRate))}% not delivered`);
    }
    // Subscribers that got nothing in the window (cross-node: a route lost, or starved).
    const starved = s1.perSub?.filter((n, i) => n === s0.perSub![i]).length ?? 0;
    if (starved && rate > 0) warnings.push(`${starved} of ${s1.perSub!.length} subscribers received nothing in the window`);
    return {
      metrics: {
        rate,
        pubRate,
        ...(shape.qos === 1 ? { ackRate } : {}),
        badPackets: bad,
        rssMB: rss.reduce((a, b) => a + b, 0),
        ...(crossNode ? { routeWaitMs: routeWaitMs!, ...Object.fromEntries(rss.map((v, i) => [`node${i + 1}RssMB`, v])) } : {}),
      },
      ...serverCpu(ctx, c0, c1, subSec),
      genCpu: pubGen === subGen ? { gen: cpuFraction(s0, s1) } : { pub: cpuFraction(p0, p1), sub: cpuFraction(s0, s1) },
      warnings,
    };
  } finally {
    await Promise.all([...new Set([pubGen, subGen])].map((g) => g.close()));
  }
}

export const range = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));

export const qos0FanIn: Scenario = {
  id: 'qos0-fanin',
  title: 'QoS 0 fan-in 10→10',
  nodes: 1,
  calibration: 'relay',
  metrics: [{ key: 'rate', label: 'delivered', unit: 'msg/s', better: 'higher', ratio: true }],
  // Pairwise topics (publisher i → bench/i → subscriber i): deliveries == publishes.
  run: (ctx) => measure(ctx, { pubTopics: range(10, (i) => `bench/${i}`), subTopics: range(10, (i) => `bench/${i}`), qos: 0 }),
};

export const qos1FanIn: Scenario = {
  id: 'qos1-fanin',
  title: 'QoS 1 fan-in 10→10',
  nodes: 1,
  calibration: 'relay',
  metrics: [
    { key: 'rate', label: 'delivered+acked', unit: 'msg/s', better: 'higher', ratio: true },
    { key: 'ackRate', label: 'PUBACKed to pubs', unit: 'msg/s', better: 'higher' },
  ],
  run: (ctx) => measure(ctx, { pubTopics: range(10, (i) => `bench/${i}`), subTopics: range(10, (i) => `bench/${i}`), qos: 1 }),
};

export const fanOut: Scenario = {
  id: 'fanout',
  title: 'QoS 0 fan-out 1→100',
  nodes: 1,
  calibration: 'relay',
  metrics: [{ key: 'rate', label: 'deliveries', unit: 'msg/s', better: 'higher', ratio: true }],
  run: (ctx) => measure(ctx, { pubTopics: ['bench/fanout'], subTopics: range(100, () => 'bench/fanout'), qos: 0 }),
};
