/**
 * Server-side processes of a scenario run (broker nodes, and for a cluster nats-server and
 * redis-server): their CPU over the measured window and a liveness check.
 */
import type { Gen } from '../loadgen/client.js';
import { sleep } from '../procs.js';
import type { ScenarioContext, ScenarioResult } from './types.js';

/** CPU seconds of every server process so far: brokers first, then services. */
export function serverCpuSample(ctx: ScenarioContext): number[] {
  return [...ctx.brokers, ...ctx.services].map((p) => p.cpuSeconds());
}

/**
 * CPU between two samples as fractions of one core. Several processes (a cluster): each
 * one named in procCpu (node1, node2, nats, redis), brokerCpu the nodes' sum.
 */
export function serverCpu(ctx: ScenarioContext, a: number[], b: number[], seconds: number): Pick<ScenarioResult, 'brokerCpu' | 'procCpu'> {
  const f = a.map((v, i) => (b[i]! - v) / seconds);
  const nodes = ctx.brokers.length;
  const brokerCpu = f.slice(0, nodes).reduce((x, y) => x + y, 0);
  if (nodes === 1 && !ctx.services.length) return { brokerCpu };
  const procCpu: Record<string, number> = {};
  ctx.brokers.forEach((_, i) => (procCpu[`node${i + 1}`] = f[i]!));
  ctx.services.forEach((s, i) => (procCpu[s.kind.replace(/-server$/, '')] = f[nodes + i]!));
  return { brokerCpu, procCpu };
}

/** Throws if a broker node, nats-server or redis-server died during the run. */
export function assertAlive(ctx: ScenarioContext): void {
  for (const p of [...ctx.brokers, ...ctx.services]) {
    if (p.exited()) throw new Error(`${p.kind} (pid ${p.pid}) ${p.exited()}: ${p.stderrTail().slice(-500)}`);
  }
}

/** Warnings the server processes logged (e.g. "node2 logged 'NATS slow consumer' ×3"). */
export function loggedWarnings(ctx: ScenarioContext): string[] {
  const out: string[] = [];
  ctx.brokers.forEach((b, i) => {
    const w = [...b.logWarnings()].map(([msg, n]) => `'${msg}'${n > 1 ? ` x${n}` : ''}`);
    if (w.length) out.push(`${ctx.brokers.length > 1 ? `node${i + 1}` : b.kind} logged ${w.slice(0, 5).join(', ')}`);
  });
  return out;
}

/**
 * Cluster: waits until every subscriber of `gen` has received something, i.e. the
 * subscriptions made on one node have reached the other as routes (through Redis) and
 * messages flow across. Publishing must already be running. Returns the wait in ms.
 */
export async function waitForRoutes(ctx: ScenarioContext, gen: Gen, what: (s: Awaited<ReturnType<Gen['snap']>>) => boolean, timeoutMs = 10000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const s = await gen.snap();
    if (what(s)) return Date.now() - t0;
    assertAlive(ctx);
    if (Date.now() - t0 > timeoutMs) {
      const got = s.perSub ? `${s.perSub.filter((n) => n > 0).length} of ${s.perSub.length} subscribers` : `${s.counters.received} messages`;
      throw new Error(`cross-node routes not working after ${timeoutMs} ms: ${got} received`);
    }
    await sleep(20);
  }
}

/** Share k of `total` split over `parts` as evenly as integers allow (the first ones get the remainder). */
export const shareOf = (total: number, parts: number) => (k: number): number => Math.floor(total / parts) + (k < total % parts ? 1 : 0);

/** Detail lines for the report, each also logged as it happens. */
export function detailLog(ctx: ScenarioContext): { details: string[]; note: (line: string) => void } {
  const details: string[] = [];
  return {
    details,
    note: (line) => {
      details.push(line);
      ctx.log(line);
    },
  };
}
