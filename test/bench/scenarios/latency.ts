/** Publish→deliver latency at a fixed, moderate rate (not a throughput test). */
import { cpuFraction, Gen } from '../loadgen/client.js';
import { sleep } from '../procs.js';
import { assertAlive, loggedWarnings, serverCpu, serverCpuSample, waitForRoutes } from './servers.js';
import type { MetricSpec, Scenario, ScenarioContext, ScenarioResult } from './types.js';

export const LATENCY_METRICS: MetricSpec[] = [
  { key: 'p50', label: 'p50', unit: 'ms', better: 'lower', digits: 3 },
  { key: 'p99', label: 'p99', unit: 'ms', better: 'lower', digits: 3, ratio: true },
  { key: 'max', label: 'max', unit: 'ms', better: 'lower', digits: 3 },
];

/** Publisher on brokers[pubNode], subscriber on brokers[subNode] (a cluster: different nodes). */
export async function measureLatency(ctx: ScenarioContext, pubNode = 0, subNode = 0): Promise<ScenarioResult> {
  const sub = ctx.brokers[subNode]!;
  const pub = ctx.brokers[pubNode]!;
  // Publisher and subscriber share one process so send and receive times come from the
  // same hrtime clock.
  const gen = Gen.spawn('lat');
  try {
    await gen.call('setup', 'latency', {
      host: sub.host,
      port: sub.port,
      pubHost: pub.host,
      pubPort: pub.port,
      clientPrefix: 'bench-lat-',
      topic: 'bench/latency',
      rate: ctx.opts.latencyRate,
      payloadSize: ctx.opts.payloadSize,
    });
    await gen.call('start');
    // Cross-node: the warmup starts once messages arrive (the route reached node 1).
    const routeWaitMs = pub !== sub ? await waitForRoutes(ctx, gen, (s) => s.counters.received > 0) : undefined;
    await sleep(ctx.opts.warmupMs);
    const s0 = await gen.snap(); // discards warmup samples
    const c0 = serverCpuSample(ctx);
    await sleep(ctx.opts.durationMs);
    const s1 = await gen.snap();
    const c1 = serverCpuSample(ctx);
    assertAlive(ctx);
    const l = s1.latency;
    if (!l) throw new Error('no messages received');
    const sent = s1.counters.sent - s0.counters.sent;
    const received = s1.counters.received - s0.counters.received;
    const warnings: string[] = [];
    if (received < sent * 0.99) warnings.push(`only ${received} of ${sent} messages arrived in the window`);
    warnings.push(...loggedWarnings(ctx));
    const seconds = (s1.t - s0.t) / 1000;
    return {
      metrics: {
        p50: l.p50,
        p90: l.p90,
        p99: l.p99,
        p999: l.p999,
        max: l.max,
        mean: l.mean,
        samples: l.count,
        rate: sent / seconds,
        ...(routeWaitMs !== undefined ? { routeWaitMs } : {}),
      },
      ...serverCpu(ctx, c0, c1, seconds),
      genCpu: { lat: cpuFraction(s0, s1) },
      warnings,
    };
  } finally {
    await gen.close();
  }
}

export const latency: Scenario = {
  id: 'latency',
  title: 'Latency QoS 0 @1k msg/s',
  nodes: 1,
  calibration: 'relay',
  metrics: LATENCY_METRICS,
  run: (ctx) => measureLatency(ctx),
};
