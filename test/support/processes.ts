import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { eventually } from './wait.js';

export type LineMatcher = RegExp | ((line: string) => boolean);

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  name: string;
  cmd: string;
  args: string[];
  /** Merged over process.env; an `undefined` value removes an inherited variable. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Resolve spawnProcess only once a stdout/stderr line matches this. */
  readyLine?: LineMatcher;
  /** How long to wait for readyLine (default 10 s). */
  timeoutMs?: number;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** stdout + stderr lines in arrival order, capped to the last MAX_LINES. */
  readonly lines: string[];
  readonly alive: boolean;
  /** Settles when the process has exited. Awaiting it keeps the test process alive meanwhile. */
  readonly exited: Promise<ExitStatus>;
  /** First line (already seen, unless onlyNew, or future) matching pred; rejects on timeout or exit. */
  waitForLine(pred: LineMatcher, timeoutMs?: number, opts?: { onlyNew?: boolean }): Promise<string>;
  /** Send signal (default SIGTERM), SIGKILL after graceMs; resolves once exited. */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  /** The last n output lines, for error messages. */
  tail(n?: number): string;
}

const MAX_LINES = 10_000;
const TAIL_LINES = 30;
const DEFAULT_GRACE_MS = 5_000;

const live = new Set<ManagedProcess>();

// Last line of defence: a test that throws before its cleanup must not leak servers.
// 'exit' handlers must be synchronous, so this is a plain SIGKILL.
process.on('exit', () => {
  for (const p of live) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});
// A signal-terminated process skips 'exit' handlers; turn these signals into a normal exit.
for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
  process.once(sig, () => process.exit(128 + constants.signals[sig]));
}

/** Kill every process spawned by this module that is still alive (SIGTERM, then SIGKILL). */
export async function killAll(graceMs = DEFAULT_GRACE_MS): Promise<void> {
  await Promise.all([...live].map((p) => p.kill('SIGTERM', graceMs)));
}

/**
 * Sends SIGSTOP to `pid` and resolves once every thread of it has stopped. kill() returns
 * before that: the signal wakes one thread, which then stops the others, and on a busy host
 * a thread may run on meanwhile (a stopped nats-server was seen answering a PING sent after
 * kill() returned).
 */
export async function suspendProcess(pid: number, timeoutMs = 5_000): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  await eventually(
    () => {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        // "tid (comm) S ...": the state follows the last ')'
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const state = stat[stat.lastIndexOf(')') + 2];
        if (state !== 'T') throw new Error(`thread ${tid} of process ${pid} is in state ${state}, not stopped`);
      }
    },
    timeoutMs,
    2,
  );
}

/** Processes spawned by this module that have not exited yet. */
export function liveProcesses(): ManagedProcess[] {
  return [...live];
}

function matches(pred: LineMatcher, line: string): boolean {
  return typeof pred === 'function' ? pred(line) : pred.test(line);
}

class Managed implements ManagedProcess {
  readonly lines: string[] = [];
  private status: ExitStatus | null = null;
  private readonly exitPromise: Promise<ExitStatus>;
  private readonly listeners = new Set<(line: string) => void>();
  private readonly exitListeners = new Set<(s: ExitStatus) => void>();
  // Child handles are unref'd so a forgotten process never keeps a test file from exiting
  // (the 'exit' handler then kills it); while anyone waits on it, we ref them again.
  private holds = 0;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const drained = Promise.all([this.readLines(child.stdout!), this.readLines(child.stderr!)]);
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(this); // gone: its pid may be reused, never signal it again
        // Let the last output lines arrive first (capped: a grandchild may hold the pipes open).
        const finish = () => {
          if (this.status) return;
          this.status = { code, signal };
          for (const l of [...this.exitListeners]) l(this.status);
          resolve(this.status);
        };
        const t = setTimeout(finish, 200);
        void drained.then(() => {
          clearTimeout(t);
          finish();
        });
      });
    });
    child.on('error', () => {}); // e.g. a failed kill(); never crash the test process
    live.add(this);
    this.setRef(false);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.status === null;
  }

  get exited(): Promise<ExitStatus> {
    if (this.status) return this.exitPromise;
    return this.hold(this.exitPromise);
  }

  tail(n = TAIL_LINES): string {
    return this.lines.slice(-n).join('\n');
  }

  waitForLine(pred: LineMatcher, timeoutMs = 10_000, opts: { onlyNew?: boolean } = {}): Promise<string> {
    if (!opts.onlyNew) {
      const seen = this.lines.find((l) => matches(pred, l));
      if (seen !== undefined) return Promise.resolve(seen);
    }
    const p = new Promise<string>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(onLine);
        this.exitListeners.delete(onExit);
      };
      const onLine = (line: string) => {
        let ok: boolean;
        try {
          ok = matches(pred, line);
        } catch (err) {
          done();
          return reject(err);
        }
        if (ok) {
          done();
          resolve(line);
        }
      };
      const onExit = (s: ExitStatus) => {
        done();
        reject(new Error(`${this.name} (pid ${this.pid}) exited (code ${s.code}, signal ${s.signal}) before printing ${pred}; last output:\n${this.tail()}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name} (pid ${this.pid}) printed no line matching ${pred} within ${timeoutMs} ms; last output:\n${this.tail()}`));
      }, timeoutMs);
      if (this.status) return onExit(this.status);
      this.listeners.add(onLine);
      this.exitListeners.add(onExit);
    });
    return this.hold(p);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = DEFAULT_GRACE_MS): Promise<void> {
    if (this.status) return Promise.resolve();
    const send = (sig: NodeJS.Signals) => {
      try {
        this.child.kill(sig);
      } catch {
        /* already gone */
      }
    };
    send(signal);
    const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => send('SIGKILL'), graceMs);
    return this.hold(this.exitPromise.then(() => clearTimeout(timer)));
  }

  private hold<T>(p: Promise<T>): Promise<T> {
    if (this.holds++ === 0) this.setRef(true);
    const release = () => {
      if (--this.holds === 0) this.setRef(false);
    };
    p.then(release, release);
    return p;
  }

  private setRef(on: boolean): void {
    const c = this.child;
    const streams = [c.stdout, c.stderr] as unknown as { ref?(): void; unref?(): void }[];
    if (on) {
      c.ref();
      for (const s of streams) s?.ref?.();
    } else {
      c.unref();
      for (const s of streams) s?.unref?.();
    }
  }

  private readLines(stream: Readable): Promise<void> {
    let partial = '';
    const ended = new Promise<void>((resolve) => stream.once('close', resolve));
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const l of parts) this.push(l);
    });
    stream.on('end', () => {
      if (partial) this.push(partial);
      partial = '';
    });
    return ended;
  }

  private push(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    this.lines.push(line);
    if (this.lines.length > MAX_LINES) this.lines.splice(0, this.lines.length - MAX_LINES);
    // Debug aid: STARLING_TEST_ECHO=1 mirrors every child's output to stderr.
    if (process.env.STARLING_TEST_ECHO) process.stderr.write(`[${this.name}] ${line}\n`);
    for (const l of [...this.listeners]) l(line);
  }
}

/**
 * Spawn a process with stdout/stderr collected line by line. Resolves once `readyLine` is
 * seen (or at once without one); on timeout or early exit the process is killed and the
 * error carries its last output lines.
 */
export async function spawnProcess(opts: SpawnOptions): Promise<ManagedProcess> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...opts.env })) if (v !== undefined) env[k] = v;

  const child = spawn(opts.cmd, opts.args, { env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  // A missing binary surfaces as an 'error' event with no pid.
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new Error(`${opts.name}: cannot start ${opts.cmd}: ${err.message}`)));
  });
  const proc = new Managed(opts.name, child);
  if (!opts.readyLine) return proc;
  try {
    await proc.waitForLine(opts.readyLine, opts.timeoutMs ?? 10_000);
  } catch (err) {
    await proc.kill('SIGKILL');
    throw err;
  }
  return proc;
}
