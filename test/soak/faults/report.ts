/**
 * What each fault cost, from the probe and the pollers' calls inside its window, and the
 * checks that hold across the faults: nothing crashed, API calls answered in time (0, or 101
 * while a node is unreachable) and with 0 again once the cluster settled, and the losses a
 * documented gap explains counted apart.
 */
import type { Check } from '../checks.js';
import type { PollSample } from '../pollers.js';
import type { FaultContext, FaultEnd, FaultReport } from './contract.js';
import type { FaultKind, Injected } from './kinds.js';
import type { Probe } from './probe.js';

export interface FaultRun {
  kind: FaultKind;
  injected?: Injected;
  settleMs?: number;
  error?: string;
}

interface Inputs {
  runs: FaultRun[];
  probe: Probe;
  startedAt: number;
  endedAt: number;
  rpcTimeoutMs: number;
  ctx: FaultContext;
}

/** An API call must answer within the RPC timeout and this much more (the gateway's own work, a loaded host). */
export const API_MARGIN_MS = 1500;
/** the probe's first seconds: its subscriptions settling */
const PROBE_LEAD_MS = 2000;
/** Durable sessions of a killed node are adopted within a heartbeat TTL (the soak's 3 s) and two sweeps (README, Durable sessions). */
const ADOPTION_MS = 3000 + 2 * 5000;

export const FAULTS_NO_CRASH = 'faults: no process crashed (but those killed, which run again)';
export const FAULTS_API_IN_TIME = 'faults: every API call answered within the RPC timeout, code 0 or 101';
export const FAULTS_API_RECOVERED = 'faults: API calls answer code 0 again once the cluster settled';
export const FAULTS_KNOWN_GAP = 'faults: acknowledged messages lost to the documented node-death gap (to a session on a node killed, or hung and counted dead, before the session is resumed or adopted)';

export const FAULTS_SESSION_LOST = 'faults: acknowledged messages lost with a session the broker could not resume (CONNACK without Session Present during an outage)';

const codeOf = (s: PollSample): string => (s.error ? 'no answer' : s.status !== 200 ? `HTTP ${s.status}` : s.code === undefined ? '0' : String(s.code));

function apiSummary(samples: PollSample[]): { text: string; slowest: number } {
  const codes = new Map<string, number>();
  for (const s of samples) codes.set(codeOf(s), (codes.get(codeOf(s)) ?? 0) + 1);
  const slowest = samples.reduce((a, s) => Math.max(a, s.ms), 0);
  return { text: `${samples.length} API calls, codes ${[...codes].map(([c, n]) => `${c}×${n}`).join(' ')}, slowest ${slowest} ms`, slowest };
}

/**
 * Whether a subscriber's session was found gone (`fresh session`: the connection that said so
 * came after the one before it began, at or before `t`) within a second after `t` at most.
 */
function freshSessionAround(history: string[], t: number): boolean {
  const connects: number[] = [];
  for (const line of history) {
    const [at, what] = line.split(' ');
    const ms = Number(at);
    if (what === 'connect') connects.push(ms);
    else if (what === 'fresh' && (connects.at(-2) ?? Infinity) <= t && t <= ms + 1000) return true;
  }
  return false;
}

/** The port a persistent subscriber last tried to connect to before `t`. */
function lastPortBefore(history: string[], t: number): number | undefined {
  let port: number | undefined;
  for (const line of history) {
    const [at, what, where] = line.split(' ');
    if (Number(at) > t) break;
    if (what === 'connect') port = Number(where!.slice(1));
  }
  return port;
}

export function faultReport(i: Inputs, end: FaultEnd): FaultReport {
  const numbers: Record<string, number | string> = {};
  const checks: Check[] = [];
  const done = i.runs.filter((r) => r.injected);
  const windows = done.map((r, k) => {
    const inj = r.injected!;
    const next = done[k + 1]?.injected?.at ?? i.endedAt;
    return { run: r, from: inj.at, to: Math.min(next, inj.backAt + r.settleMs!), settled: inj.backAt + r.settleMs! / 2 };
  });
  const firstFault = windows[0]?.from ?? i.endedAt;
  const base = i.probe.window(i.startedAt + PROBE_LEAD_MS, firstFault);
  numbers['faults: before the first, QoS 0 probe'] = `${base.lost} of ${base.owed} lost`;

  const late: string[] = [];
  const badCodes: string[] = [];
  for (const w of windows) {
    const inj = w.run.injected!;
    const p = i.probe.window(w.from, w.to);
    const calls = end.samples.filter((s) => s.at >= w.from && s.at < w.to);
    const api = apiSummary(calls);
    for (const s of calls) {
      if (s.ms > i.rpcTimeoutMs + API_MARGIN_MS) late.push(`${w.run.kind}: GET ${s.path} took ${s.ms} ms (${codeOf(s)})`);
      const c = codeOf(s);
      if (c !== '0' && c !== '101') badCodes.push(`${w.run.kind}: GET ${s.path} answered ${c}${s.error ? ` ${s.error}` : ''}`);
    }
    const missing = end.missing.filter((m) => m.at >= w.from && m.at < w.to).length;
    const dups = end.qos2Duplicates.filter((t) => t >= w.from && t < w.to).length;
    const flow = p.allPairsMs === undefined ? 'not every node pair within the window' : `${p.allPairsMs} ms (${p.allPairsMs - (inj.backAt - inj.at)} ms after it was back)`;
    numbers[`fault ${w.run.kind} (${inj.target})`] = `at +${inj.at - i.startedAt} ms, down ${inj.backAt - inj.at} ms; QoS 0 lost ${p.lost} of ${p.owed} (cross-node ${p.lostCross} of ${p.owedCross}); `
      + `longest time without a cross-node delivery ${p.stallMs} ms; every node pair flowing again after ${flow}; `
      + `acknowledged QoS 1/2 then not delivered to a persistent subscriber: ${missing} pairs; QoS 2 duplicates: ${dups}; ${api.text}`;
  }
  for (const r of i.runs) if (r.error) numbers[`fault ${r.kind}`] = `not injected: ${r.error}`;

  // once settled (the second half of each window): code 0 only. Before the first fault the
  // soak's ramp-up alone may time an RPC out on a loaded host: counted, not checked here.
  const early = end.samples.filter((s) => s.at < firstFault);
  numbers['faults: API calls before the first fault'] = apiSummary(early).text;
  // (a call still out when the next fault came is that fault's)
  const settledCalls = end.samples.filter((s) => windows.some((w) => s.at >= w.settled && s.at + s.ms < w.to));
  const unsettled = settledCalls.filter((s) => codeOf(s) !== '0');

  const c = i.ctx.cluster;
  const procs = [...[...c.nodes.values()].map((n) => n.proc), c.nats.proc, c.redis.proc, ...i.ctx.api.gateways.map((g) => g.proc), ...(i.ctx.api.haproxy ? [i.ctx.api.haproxy] : [])];
  const dead = procs.filter((p) => !p.alive);
  checks.push({ name: FAULTS_NO_CRASH, ok: dead.length === 0 && i.runs.every((r) => !r.error), detail: dead.length ? `exited: ${dead.map((p) => `${p.name}: ${p.tail(3)}`).join('; ')}` : `${procs.length} processes running; ${done.length} of ${i.runs.length} faults injected${i.runs.some((r) => r.error) ? ` (${i.runs.filter((r) => r.error).map((r) => `${r.kind}: ${r.error}`).join('; ')})` : ''}` });
  checks.push({ name: FAULTS_API_IN_TIME, ok: late.length === 0 && badCodes.length === 0, detail: `limit ${i.rpcTimeoutMs + API_MARGIN_MS} ms; ${late.length} late, ${badCodes.length} other answers${[...late, ...badCodes].length ? `: ${[...late, ...badCodes].slice(0, 5).join('; ')}` : ''}` });
  checks.push({ name: FAULTS_API_RECOVERED, ok: unsettled.length === 0, detail: `${settledCalls.length} calls once settled, ${unsettled.length} not code 0${unsettled.length ? `: ${unsettled.slice(0, 5).map((s) => `GET ${s.path} at +${s.at - i.startedAt} ms: ${codeOf(s)}${s.error ? ` ${s.error}` : ''}`).join('; ')}` : ''}` });

  // a missing pair is the known gap when its subscriber's session was on a node killed (or
  // hung past its heartbeat TTL: the others count it dead) around the time it was
  // acknowledged, before the session was resumed or adopted
  const deaths = done.filter((r) => r.kind === 'node-kill' || r.kind === 'node-stop');
  const gapOf = (m: FaultEnd['missing'][number]) => deaths.find(({ injected: k }) => {
    if (m.at < k!.at - 1000 || m.at > k!.backAt + ADOPTION_MS + 1000) return false;
    return lastPortBefore(end.histories.get(m.clientId) ?? [], k!.at) === k!.mqttPort;
  });
  const gap = end.missing.filter((m) => gapOf(m) !== undefined);
  // the rest: a session the broker could not resume and said so (CONNACK without Session
  // Present: NATS away, no takeover possible), acknowledged since its last connection began
  const announced = end.missing.filter((m) => gapOf(m) === undefined && freshSessionAround(end.histories.get(m.clientId) ?? [], m.at));
  checks.push({ name: FAULTS_SESSION_LOST, ok: announced.length === 0, detail: `${announced.length} of ${end.missing.length} missing pairs${announced.length ? ` (e.g. ${announced.slice(0, 3).map((m) => `${m.id} to ${m.clientId} acknowledged at +${m.at - i.startedAt} ms`).join('; ')})` : ''}` });
  numbers['faults: missing pairs of sessions lost with Session Present 0'] = announced.length;
  // a few of the rest, per fault, with what the subscriber saw (times relative to the start)
  const rest = end.missing.filter((m) => gapOf(m) === undefined && !announced.includes(m));
  for (const w of windows) {
    const ex = rest.filter((m) => m.at >= w.from && m.at < w.to).slice(0, 3);
    const rel = (s: string) => s.replace(/\b1\d{12}\b/g, (ms) => `+${Number(ms) - i.startedAt}`);
    if (ex.length) numbers[`fault ${w.run.kind}: unexplained, e.g.`] = ex.map((m) => `${m.id} to ${m.clientId} acknowledged at +${m.at - i.startedAt} ms: ${rel(end.explain(m.clientId, m.id, m.at))}`).join(' | ');
  }
  for (const d of deaths) numbers[`faults: ${d.kind}: missing pairs explained by the node-death gap`] = gap.filter((m) => gapOf(m) === d).length;
  checks.push({ name: FAULTS_KNOWN_GAP, ok: gap.length === 0, detail: `${gap.length} of ${end.missing.length} missing pairs${gap.length ? ` (e.g. ${gap.slice(0, 3).map((m) => `${m.id} to ${m.clientId} acknowledged at +${m.at - i.startedAt} ms`).join('; ')})` : ''}` });
  numbers['faults: missing pairs explained by the node-death gap'] = `${gap.length} of ${end.missing.length}`;
  numbers['faults: missing pairs acknowledged before the first fault'] = end.missing.filter((m) => m.at < firstFault).length;
  return { checks, numbers, knownGapMissing: gap.length + announced.length };
}
