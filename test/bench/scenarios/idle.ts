/** Many idle connections: how fast they are accepted and what each costs in broker RSS. */
import { cpuFraction, Gen } from '../loadgen/client.js';
import { sleep } from '../procs.js';
import type { RunningBroker } from '../brokers.js';
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
  calibrates: true,
  metrics: [
    { key: 'connRate', label: 'connect rate', unit: 'conn/s', better: 'higher', ratio: true },
    { key: 'kbPerConn', label: 'RSS per conn', unit: 'KB', better: 'lower', digits: 2, ratio: true },
  ],
  async run(ctx) {
    const broker = ctx.brokers[0]!;
    const { idleConns, idleConcurrency } = ctx.opts;
    // One generator process holding all client sockets; the broker holds the other ends,
    // so each stays under the 20,000 open-file limit.
    const gen = Gen.spawn('conn');
    try {
      await gen.call('setup', 'conn');
      await sleep(1000);
      const before = await settledRssKB(broker);
      const s0 = await gen.snap();
      const c0 = broker.cpuSeconds();
      const r = await gen.call(
        'connect',
        'conn',
        { host: broker.host, port: broker.port, clientPrefix: 'bench-idle-', count: idleConns, concurrency: idleConcurrency, keepalive: 300 },
        180000,
      );
      const s1 = await gen.snap();
      const c1 = broker.cpuSeconds();
      await sleep(1000);
      const after = await settledRssKB(broker);
      if (broker.exited()) throw new Error(`broker ${broker.exited()}: ${broker.stderrTail().slice(-500)}`);
      const connected = s1.counters.connected;
      const elapsedS = r.result!.elapsedMs / 1000;
      const warnings: string[] = [];
      if (s1.counters.failed) warnings.push(`${s1.counters.failed} of ${idleConns} connections failed (${s1.lastError})`);
      return {
        metrics: {
          connRate: connected / elapsedS,
          kbPerConn: connected ? (after - before) / connected : NaN,
          connected,
          failed: s1.counters.failed,
          rssBeforeMB: before / 1024,
          rssAfterMB: after / 1024,
        },
        brokerCpu: (c1 - c0) / ((s1.t - s0.t) / 1000),
        genCpu: { conn: cpuFraction(s0, s1) },
        warnings,
      };
    } finally {
      await gen.close();
    }
  },
};
