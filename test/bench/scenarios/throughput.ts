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

/** A load of `shape` running on its generators, past its warmup. */
interface Load {
  pubGen: Gen;
  subGen: Gen;
  crossNode: boolean;
  routeWaitMs?: number;
  close(): Promise<void>;
}

async function startLoad(ctx: ScenarioContext, shape: Shape): Promise<Load> {
  const pubBroker = ctx.brokers[shape.pubNode ?? 0]!;
  const subBroker = ctx.brokers[shape.subNode ?? 0]!;
  const crossNode = pubBroker !== subBroker;
  const { opts } = ctx;
  // Publishers and subscribers in one process (default: with the broker that makes two
  // busy processes for two cores, so the QoS 1 round trip never waits for a CPU), or in
  // two (their CPU use then shows separately).
  const subGen = Gen.spawn(opts.genProcs === 1 ? 'gen' : 'sub');
  const pubGen = opts.genProcs === 1 ? subGen : Gen.spawn('pub');
  const close = async () => {
    await Promise.all([...new Set([pubGen, subGen])].map((g) => g.close()));
  };
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
    return { pubGen, subGen, crossNode, ...(routeWaitMs === undefined ? {} : { routeWaitMs }), close };
  } catch (err) {
    await close();
    throw err;
  }
}

export async function measure(ctx: ScenarioContext, shape: Shape): Promise<ScenarioResult> {
  const { pubGen, subGen, crossNode, routeWaitMs, close } = await startLoad(ctx, shape);
  const { opts } = ctx;
  try {
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
    await close();
  }
}

/**
 * A/B on one running load: the delivered rate in `pairs` pairs of adjacent windows of
 * `windowMs`, one with `toggle(true)` in force and one without, in ABBA order (so a drift
 * over time hits both sides alike), each after `settleMs` for the change to take effect.
 * On a machine shared with other work, adjacent windows see the same background load
 * far more often than separate runs do: compare the pairs' ratios, not the means.
 */
export async function alternating(
  ctx: ScenarioContext,
  shape: Shape,
  o: { pairs: number; windowMs: number; settleMs: number; toggle: (on: boolean) => Promise<void> },
): Promise<{ off: number[]; on: number[]; ratios: number[]; offCpu: number[]; onCpu: number[]; offPub: number[]; onPub: number[] } & Pick<ScenarioResult, 'brokerCpu' | 'procCpu' | 'genCpu'>> {
  const { pubGen, subGen, close } = await startLoad(ctx, shape);
  const off: number[] = [];
  const on: number[] = [];
  const ratios: number[] = [];
  // the brokers' CPU (fraction of a core) in each window
  const offCpu: number[] = [];
  const onCpu: number[] = [];
  // what the publishers sent in each window (QoS 0: more than is delivered when subscribers' deliveries are dropped)
  const offPub: number[] = [];
  const onPub: number[] = [];
  const snaps = async () => (pubGen === subGen ? subGen.snap().then((x) => [x, x] as const) : Promise.all([subGen.snap(), pubGen.snap()]));
  const windowRate = async (state: boolean): Promise<[number, number, number]> => {
    await o.toggle(state);
    await sleep(o.settleMs);
    const [[s0, p0], c0] = [await snaps(), serverCpuSample(ctx)];
    await sleep(o.windowMs);
    const [[s1, p1], c1] = [await snaps(), serverCpuSample(ctx)];
    assertAlive(ctx);
    const rate = ((s1.counters.received - s0.counters.received) * 1000) / (s1.t - s0.t);
    return [rate, serverCpu(ctx, c0, c1, (s1.t - s0.t) / 1000).brokerCpu, ((p1.counters.sent - p0.counters.sent) * 1000) / (p1.t - p0.t)];
  };
  try {
    const [g0, c0] = [await subGen.snap(), serverCpuSample(ctx)];
    for (let i = 0; i < o.pairs; i++) {
      const order = i % 2 === 0 ? [false, true] : [true, false];
      const rates = new Map<boolean, [number, number, number]>();
      for (const state of order) rates.set(state, await windowRate(state));
      const [offRate, offC, offP] = rates.get(false)!;
      const [onRate, onC, onP] = rates.get(true)!;
      off.push(offRate);
      on.push(onRate);
      offCpu.push(offC);
      onCpu.push(onC);
      offPub.push(offP);
      onPub.push(onP);
      ratios.push(onRate / offRate);
    }
    const [g1, c1] = [await subGen.snap(), serverCpuSample(ctx)];
    return { off, on, ratios, offCpu, onCpu, offPub, onPub, ...serverCpu(ctx, c0, c1, (g1.t - g0.t) / 1000), genCpu: { gen: cpuFraction(g0, g1) } };
  } finally {
    await o.toggle(false);
    await close();
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
