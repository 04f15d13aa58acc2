/** Publish→deliver latency at a fixed, moderate rate (not a throughput test). */
import { cpuFraction, Gen } from '../loadgen/client.js';
import { sleep } from '../procs.js';
import type { Scenario } from './types.js';

export const latency: Scenario = {
  id: 'latency',
  title: 'Latency QoS 0 @1k msg/s',
  nodes: 1,
  calibration: 'relay',
  metrics: [
    { key: 'p50', label: 'p50', unit: 'ms', better: 'lower', digits: 3 },
    { key: 'p99', label: 'p99', unit: 'ms', better: 'lower', digits: 3, ratio: true },
    { key: 'max', label: 'max', unit: 'ms', better: 'lower', digits: 3 },
  ],
  async run(ctx) {
    const broker = ctx.brokers[0]!;
    // Publisher and subscriber share one process so send and receive times come from the
    // same hrtime clock.
    const gen = Gen.spawn('lat');
    try {
      await gen.call('setup', 'latency', {
        host: broker.host,
        port: broker.port,
        clientPrefix: 'bench-lat-',
        topic: 'bench/latency',
        rate: ctx.opts.latencyRate,
        payloadSize: ctx.opts.payloadSize,
      });
      await gen.call('start');
      await sleep(ctx.opts.warmupMs);
      const s0 = await gen.snap(); // discards warmup samples
      const c0 = broker.cpuSeconds();
      await sleep(ctx.opts.durationMs);
      const s1 = await gen.snap();
      const c1 = broker.cpuSeconds();
      if (broker.exited()) throw new Error(`broker ${broker.exited()}: ${broker.stderrTail().slice(-500)}`);
      const l = s1.latency;
      if (!l) throw new Error('no messages received');
      const sent = s1.counters.sent - s0.counters.sent;
      const received = s1.counters.received - s0.counters.received;
      const warnings: string[] = [];
      if (received < sent * 0.99) warnings.push(`only ${received} of ${sent} messages arrived in the window`);
      return {
        metrics: { p50: l.p50, p90: l.p90, p99: l.p99, p999: l.p999, max: l.max, mean: l.mean, samples: l.count, rate: sent / ((s1.t - s0.t) / 1000) },
        brokerCpu: (c1 - c0) / ((s1.t - s0.t) / 1000),
        genCpu: { lat: cpuFraction(s0, s1) },
        warnings,
      };
    } finally {
      await gen.close();
    }
  },
};
