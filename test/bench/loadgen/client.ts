/** Orchestrator side of a load generator process: fork, request/reply over IPC, stop. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopChild, track } from '../procs.js';
import type { GenReply, GenRequest, Role, Snap } from './protocol.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

export class Gen {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: GenReply) => void; reject: (e: Error) => void }>();
  private exitInfo: string | null = null;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (r: GenReply) => {
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (r.ok) w.resolve(r);
      else w.reject(new Error(`${name}: ${r.error}`));
    });
    child.once('exit', (code, sig) => {
      this.exitInfo = `${name} generator exited (${code ?? sig})`;
      for (const w of this.waiting.values()) w.reject(new Error(this.exitInfo));
      this.waiting.clear();
    });
  }

  static spawn(name: string): Gen {
    // Plain execArgv: the generator must not inherit inspector/debug flags.
    const child = track(fork(WORKER, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    return new Gen(name, child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  call(op: GenRequest['op'], role?: Role, params?: GenRequest['params'], timeoutMs = 30000): Promise<GenReply> {
    if (this.exitInfo) return Promise.reject(new Error(this.exitInfo));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: ${op} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ id, op, role, params } satisfies GenRequest);
    });
  }

  async snap(): Promise<Snap> {
    return (await this.call('snap')).snap!;
  }

  /** Closes the generator's sockets and ends the process; never throws. */
  async close(): Promise<void> {
    try {
      if (!this.exitInfo) await this.call('stop', undefined, undefined, 5000);
    } catch {
      // killed below anyway
    }
    await stopChild(this.child, 1000);
  }
}

/** CPU used between two snaps, as a fraction of one core. */
export function cpuFraction(a: Snap, b: Snap): number {
  const us = b.cpu.user + b.cpu.system - (a.cpu.user + a.cpu.system);
  return us / 1000 / (b.t - a.t);
}

/** What connectEach did: clients connected and failed over every generator, and its snaps around it. */
export interface ConnectOutcome {
  connected: number;
  failed: number;
  seconds: number;
  /** generator CPU over the connect phase, µs, all generators */
  cpuUs: number;
  lastError: string;
  before: Snap[];
  after: Snap[];
}

/** Generator k opens the `conn` connections `params(k)` describes (host, port, count, ...), all generators at once. */
export async function connectEach(gens: Gen[], params: (k: number) => Record<string, unknown>, timeoutMs: number): Promise<ConnectOutcome> {
  await Promise.all(gens.map((g) => g.call('setup', 'conn')));
  const before = await Promise.all(gens.map((g) => g.snap()));
  const t0 = performance.now();
  await Promise.all(gens.map((g, k) => g.call('connect', 'conn', params(k), timeoutMs)));
  const seconds = (performance.now() - t0) / 1000;
  const after = await Promise.all(gens.map((g) => g.snap()));
  const sum = (f: (a: Snap, b: Snap) => number) => before.reduce((acc, a, k) => acc + f(a, after[k]!), 0);
  return {
    connected: sum((a, b) => b.counters.connected - a.counters.connected),
    failed: sum((a, b) => b.counters.failed - a.counters.failed),
    seconds,
    cpuUs: sum((a, b) => b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system),
    lastError: after.map((s) => s.lastError).filter(Boolean)[0] ?? '',
    before,
    after,
  };
}
