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
