/**
 * Every child process the bench starts (brokers and load generators) is tracked here so
 * that a normal end, an error, or Ctrl-C all leave nothing running behind.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';

const live = new Set<ChildProcess>();
const cleanups = new Set<() => void>();

/** A synchronous cleanup (temp files) to run at exit; returns a function running it now. */
export function onCleanup(fn: () => void): () => void {
  cleanups.add(fn);
  return () => {
    if (cleanups.delete(fn)) fn();
  };
}

export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Synchronous so it also works from process.on('exit'). */
export function killAllSync(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // best effort
    }
  }
  cleanups.clear();
}

/** SIGTERM, then SIGKILL if the child has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- /proc readers -------------------------------------------------------------------

const cpuCount = cpus().length;
let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // getconf missing: 100 is the Linux default
}

/** pid plus all its descendants, so a broker that forks workers is measured whole. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = parseStat(readFileSync(`/proc/${name}/stat`, 'utf8'))[1];
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // process vanished while scanning
    }
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Fields after the `(comm)`; comm may contain spaces, hence the lastIndexOf. Returns [state, ppid, ...]. */
function parseStat(stat: string): number[] {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest.map((f, i) => (i === 0 ? 0 : Number(f)));
}

/** Resident set size in KB (VmRSS), summed over the process tree. */
export function rssKB(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) total += Number(m[1]);
    } catch {
      // gone
    }
  }
  return total;
}

/** User + system CPU seconds consumed so far, summed over the process tree. */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const f = parseStat(readFileSync(`/proc/${p}/stat`, 'utf8'));
      // utime and stime are fields 14 and 15 of stat; f[0] is field 3 (state).
      ticks += f[11]! + f[12]!;
    } catch {
      // gone
    }
  }
  return ticks / clkTck;
}

/** Machine-wide CPU ticks from /proc/stat (all cores summed). */
export interface MachineCpu {
  busy: number;
  idle: number;
  /** irq + softirq: kernel work (loopback TCP receive) not charged to any process. */
  softirq: number;
  total: number;
}

export function machineCpu(): MachineCpu {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, idle: idle + iowait, softirq: softirq + irq, total };
}

/** Between two samples: busy, idle and softirq as fractions of all cores. */
export function machineShare(a: MachineCpu, b: MachineCpu): { busy: number; idle: number; softirq: number } {
  const t = b.total - a.total || 1;
  return { busy: (b.busy - a.busy) / t, idle: (b.idle - a.idle) / t, softirq: (b.softirq - a.softirq) / t };
}

/** CPU ticks of every process on the machine, by pid (comm kept for the report). */
export function allProcessTicks(): Map<number, { comm: string; ticks: number }> {
  const out = new Map<number, { comm: string; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = parseStat(stat);
      out.set(Number(name), { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ticks: f[11]! + f[12]! });
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Processes outside this bench's own process tree that used CPU between two
 * allProcessTicks() samples: a build or test run next to the bench skews its results.
 */
export function foreignCpu(
  a: Map<number, { comm: string; ticks: number }>,
  b: Map<number, { comm: string; ticks: number }>,
  ma: MachineCpu,
  mb: MachineCpu,
): { total: number; top: { pid: number; comm: string; cpu: number }[] } {
  const seconds = (mb.total - ma.total) / clkTck / cpuCount;
  const ours = new Set(processTree(process.pid));
  const top: { pid: number; comm: string; cpu: number }[] = [];
  let oursTicks = 0;
  for (const pid of ours) oursTicks += (b.get(pid)?.ticks ?? 0) - (a.get(pid)?.ticks ?? 0);
  // Machine busy time not spent in our processes nor in irq context; unlike the per-pid
  // list below, this also catches processes that started and ended inside the window.
  const total = Math.max(0, (mb.busy - ma.busy - (mb.softirq - ma.softirq) - oursTicks) / clkTck / seconds);
  for (const [pid, v] of b) {
    if (ours.has(pid)) continue;
    const cpu = (v.ticks - (a.get(pid)?.ticks ?? 0)) / clkTck / seconds;
    if (cpu <= 0) continue;
    top.push({ pid, comm: v.comm, cpu });
  }
  top.sort((x, y) => y.cpu - x.cpu);
  return { total, top: top.slice(0, 3) };
}

/** TCP counters that explain slow connection rates (machine-wide, /proc/net/netstat + snmp). */
export function tcpCounters(): { listenOverflows: number; synRetrans: number } {
  const text = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const out = { listenOverflows: 0, synRetrans: 0 };
  for (let i = 0; i + 1 < text.length; i += 2) {
    const names = text[i]!.split(/\s+/);
    const vals = text[i + 1]!.split(/\s+/);
    if (names[0] !== 'TcpExt:') continue;
    out.listenOverflows = Number(vals[names.indexOf('ListenOverflows')] ?? 0);
    out.synRetrans = Number(vals[names.indexOf('TCPSynRetrans')] ?? 0);
  }
  return out;
}
