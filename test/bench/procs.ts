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

/** A snapshot for foreignCpu(): machine ticks, every process's ticks, the bench's tree. */
export interface LoadSample {
  machine: MachineCpu;
  procs: Map<number, { comm: string; ticks: number }>;
  /** This process and its live descendants at sample time. */
  ours: number[];
  /** CPU of this process's exited, reaped children (cutime + cstime of /proc/self/stat). */
  reapedTicks: number;
}

export function loadSample(): LoadSample {
  const procs = new Map<number, { comm: string; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = parseStat(stat);
      procs.set(Number(name), { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ticks: f[11]! + f[12]! });
    } catch {
      // gone
    }
  }
  const self = parseStat(readFileSync('/proc/self/stat', 'utf8'));
  return { machine: machineCpu(), procs, ours: processTree(process.pid), reapedTicks: self[13]! + self[14]! };
}

/**
 * CPU used between two samples by processes outside this bench (in cores): machine busy
 * time minus irq/softirq minus the bench's own processes, including the ones that exited
 * in between (counted through the reaped-children time). Unlike a per-pid list this also
 * catches short-lived processes (a build, a test run) that came and went in between.
 */
export function foreignCpu(a: LoadSample, b: LoadSample): { total: number; top: { pid: number; comm: string; cpu: number }[] } {
  const seconds = (b.machine.total - a.machine.total) / clkTck / cpuCount;
  const ours = new Set([...a.ours, ...b.ours]);
  let oursTicks = b.reapedTicks - a.reapedTicks;
  for (const pid of ours) oursTicks += (b.procs.get(pid)?.ticks ?? 0) - (a.procs.get(pid)?.ticks ?? 0);
  const busy = b.machine.busy - a.machine.busy - (b.machine.softirq - a.machine.softirq);
  const total = Math.max(0, (busy - oursTicks) / clkTck / seconds);
  const top: { pid: number; comm: string; cpu: number }[] = [];
  for (const [pid, v] of b.procs) {
    if (ours.has(pid)) continue;
    const cpu = (v.ticks - (a.procs.get(pid)?.ticks ?? 0)) / clkTck / seconds;
    if (cpu > 0) top.push({ pid, comm: v.comm, cpu });
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
