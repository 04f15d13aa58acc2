/**
 * The soak's fault schedule: during the traffic, one fault after another with a settling
 * pause between (kinds.ts), a QoS 0 probe measuring what each cost (probe.ts), and at the
 * end each fault's numbers and the checks that must hold across them (report.ts).
 */
import type { FaultContext, FaultOutcome } from './contract.js';
import { inject, type FaultKind, type Injected } from './kinds.js';
import { Probe } from './probe.js';
import { faultReport, type FaultRun } from './report.js';

export interface FaultPlan {
  kinds: FaultKind[];
  /** the soak's traffic time: the faults are spread over it */
  durationMs: number;
  rpcTimeoutMs: number;
  /** how long a killed process stays down (default 3 s) */
  downtimeMs?: number;
  log?: (line: string) => void;
}

/** At least this long between a fault's undoing and the next fault: the cluster settles. */
const MIN_SETTLE_MS = 8_000;
const MAX_SETTLE_MS = 60_000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function faultSchedule(plan: FaultPlan): (ctx: FaultContext) => Promise<FaultOutcome> {
  const downtimeMs = plan.downtimeMs ?? 3000;
  const log = plan.log ?? (() => {});
  return async (ctx) => {
    const nodes = [...ctx.cluster.nodes.values()];
    const probe = new Probe(nodes.map((n) => n.mqttPort), () => ctx.published(0));
    const startedAt = Date.now();
    probe.start();
    // the traffic runs on until the last fault is undone and settled (a loaded host is slow to restart)
    let allDone!: () => void;
    ctx.holdTraffic(new Promise<void>((r) => (allDone = r)));
    // the lead: the probe's subscriptions settle, the traffic ramps up
    const leadMs = Math.max(3000, Math.min(10_000, plan.durationMs / 10));
    const busyMs = plan.kinds.reduce((a, k) => a + (k === 'node-stop' ? plan.rpcTimeoutMs + 2000 : downtimeMs), 0);
    const settleMs = Math.min(MAX_SETTLE_MS, Math.max(MIN_SETTLE_MS, (plan.durationMs - leadMs - busyMs) / Math.max(1, plan.kinds.length)));
    const runs: FaultRun[] = [];
    try {
      await pause(leadMs);
      for (const kind of plan.kinds) {
        let injected: Injected;
        try {
          injected = await inject(kind, { cluster: ctx.cluster, api: ctx.api, downtimeMs, rpcTimeoutMs: plan.rpcTimeoutMs });
        } catch (err) {
          const error = (err as Error).message.split('\n')[0]!;
          log(`faults: ${kind} failed: ${error}`);
          runs.push({ kind, error });
          continue;
        }
        log(`faults: ${kind} of ${injected.target}: back after ${injected.backAt - injected.at} ms; settling ${Math.round(settleMs / 1000)} s`);
        runs.push({ kind, injected, settleMs });
        await pause(settleMs);
      }
    } finally {
      allDone();
    }
    await ctx.trafficDone;
    const endedAt = Date.now();
    await probe.stop();
    return {
      metrics(per) {
        // a killed incarnation's counters are gone from the restarted node's: add them back
        const out = new Map([...per].map(([k, v]) => [k, { ...v }]));
        for (const r of runs) {
          const lost = r.injected?.lostMetrics;
          const m = lost && out.get(lost.node);
          if (!m) continue;
          for (const [k, v] of Object.entries(lost.metrics)) m[k] = (m[k] ?? 0) + v;
        }
        return out;
      },
      report: (end) => faultReport({ runs, probe, startedAt, endedAt, rpcTimeoutMs: plan.rpcTimeoutMs, ctx }, end),
    };
  };
}
