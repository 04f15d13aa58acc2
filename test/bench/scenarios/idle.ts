/** Many idle connections: how fast they are accepted and what each costs in broker RSS. */
import { cpuFraction, Gen } from '../loadgen/client.js';
import { sleep, tcpCounters } from '../procs.js';
import type { RunningBroker } from '../brokers.js';
import type { Snap } from '../loadgen/protocol.js';
import type { Scenario } from './types.js';

/** Median of a few RSS samples: a GC or allocator hiccup in one sample does not decide it. */
async function settledRssKB(b: RunningBroker, samples = 3, gapMs = 300): Promise<number> {
  const v: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (i) await sleep(gapMs);
    v.push(b.rssKB());
  }
  return v.sort((x, y) => x - y)[Math.floor(samples / 2)]!;
}

export const idleConnections: Scenario = {
  id: 'idle',
  title: 'Idle connections',
  nodes: 1,
  calibration: 'cpu',
  genCostMetric: 'genCpuUsPerConn',
  metrics: [
    { key: 'connRate', label: 'connect rate', unit: 'conn/s', better: 'higher', ratio: true },
    { key: 'kbPerConn', label: 'RSS per conn', unit: 'KB', better: 'lower', digits: 2, ratio: true },
  ],
  async run(ctx) {
    const broker = ctx.brokers[0]!;
    const { idleConns, idleConcurrency, idleProcs } = ctx.opts;
    // Connections split over a few generator processes (each far below the 20,000
    // open-file limit, as is the broker): a Node client costs ~50-100 µs of CPU per
    // connect, so one process alone would cap the rate a fast broker can show.
    const gens = Array.from({ length: idleProcs }, (_, k) => Gen.spawn(`conn${k}`));
    const share = (k: number, n: number) => Math.floor(n / idleProcs) + (k < n % idleProcs ? 1 : 0);
    const connectAll = (prefix: string, total: number) =>
      Promise.all(
        gens.map((g, k) =>
          g.call(
            'connect',
            'conn',
            {
              host: broker.host,
              port: broker.port,
              clientPrefix: `${prefix}${k}-`,
              count: share(k, total),
              concurrency: Math.max(1, share(k, idleConcurrency)),
              keepalive: 300,
            },
            180000,
          ),
        ),
      );
    try {
      await Promise.all(gens.map((g) => g.call('setup', 'conn')));
      // Warmup round (JIT in generator and broker, broker pools), then a settled baseline.
      await connectAll('bench-warm-', Math.min(1000, idleConns));
      await Promise.all(gens.map((g) => g.call('close')));
      await sleep(1000);
      const before = await settledRssKB(broker);
      const s0 = await Promise.all(gens.map((g) => g.snap()));
      const c0 = broker.cpuSeconds();
      const t0 = tcpCounters();
      const results = await connectAll('bench-idle-', idleConns);
      const s1 = await Promise.all(gens.map((g) => g.snap()));
      const c1 = broker.cpuSeconds();
      const t1 = tcpCounters();
      await sleep(1000);
      const after = await settledRssKB(broker);
      if (broker.exited()) throw new Error(`broker ${broker.exited()}: ${broker.stderrTail().slice(-500)}`);

      const sum = (f: (a: Snap, b: Snap) => number) => s0.reduce((acc, a, k) => acc + f(a, s1[k]!), 0);
      const connected = sum((a, b) => b.counters.connected - a.counters.connected);
      const failed = sum((a, b) => b.counters.failed - a.counters.failed);
      const genCpuUs = sum((a, b) => b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system);
      const elapsedS = Math.max(...results.map((r) => r.result!.elapsedMs)) / 1000;
      const wallS = Math.max(...s0.map((a, k) => s1[k]!.t - a.t)) / 1000;
      const warnings: string[] = [];
      // Accept queue overflows make clients retransmit their SYN after 1 s: the rate then
      // reflects that timer more than the broker's speed.
      const listenOverflows = t1.listenOverflows - t0.listenOverflows;
      const synRetrans = t1.synRetrans - t0.synRetrans;
      if (synRetrans) warnings.push(`${listenOverflows} listen queue overflows, ${synRetrans} SYN retransmits (1 s stalls)`);
      if (failed) warnings.push(`${failed} of ${idleConns} connections failed (${s1.map((s) => s.lastError).filter(Boolean)[0] ?? ''})`);
      return {
        metrics: {
          connRate: connected / elapsedS,
          kbPerConn: connected ? (after - before) / connected : NaN,
          connected,
          failed,
          rssBeforeMB: before / 1024,
          rssAfterMB: after / 1024,
          listenOverflows,
          synRetrans,
          genCpuUsPerConn: connected ? genCpuUs / connected : NaN,
        },
        brokerCpu: (c1 - c0) / wallS,
        genCpu: Object.fromEntries(gens.map((g, k) => [g.name, cpuFraction(s0[k]!, s1[k]!)])),
        warnings,
      };
    } finally {
      await Promise.all(gens.map((g) => g.close()));
    }
  },
};
