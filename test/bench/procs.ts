/**
 * Every child process the bench starts (brokers and load generators) is tracked here so
 * that a normal end, an error, or Ctrl-C all leave nothing running behind.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const live = new Set<ChildProcess>();

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
