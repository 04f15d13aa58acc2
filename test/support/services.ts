import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './ports.js';
import { spawnProcess, type ManagedProcess } from './processes.js';

export interface Service {
  readonly url: string;
  readonly port: number;
  /** The current server process (a new one after each restart). */
  readonly proc: ManagedProcess;
  /** Stop (SIGTERM, or `signal`), stay down `downtimeMs`, start again on the same port. */
  restart(opts?: { signal?: NodeJS.Signals; downtimeMs?: number }): Promise<void>;
  /** Start again on the same port after stop() or a crash; no-op while running. */
  start(): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface ServiceOptions {
  /** Extra server arguments. */
  args?: string[];
  /** Fixed port instead of a free one. */
  port?: number;
}

// Debian puts nats-server in /usr/sbin, which a non-root PATH often lacks.
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin', '/usr/local/bin'];

/** Absolute path of an installed executable, or a clear error naming the Debian package. */
export function findBinary(name: string, debianPackage = name): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* keep looking */
    }
  }
  throw new Error(`${name} not found on PATH or in ${EXTRA_DIRS.join(', ')}; install the Debian package ${debianPackage}`);
}

export interface ServerSpec {
  name: string;
  bin: string;
  args(port: number): string[];
  ready: RegExp;
  url(port: number): string;
}

const ADDRESS_IN_USE = /address already in use/i;

export async function startService(spec: ServerSpec, opts: ServiceOptions): Promise<Service> {
  let port = opts.port ?? (await freePort());

  const launch = () =>
    spawnProcess({
      name: `${spec.name}:${port}`,
      cmd: spec.bin,
      args: [...spec.args(port), ...(opts.args ?? [])],
      readyLine: spec.ready,
      timeoutMs: 15_000,
    });

  // Another test file may grab a free port between freePort() and bind, and a restart may
  // race the old socket's release; both show up as "address already in use", so retry.
  const launchWithRetry = async (mayChangePort: boolean) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch();
      } catch (err) {
        if (attempt >= 5 || !ADDRESS_IN_USE.test(String(err))) throw err;
        if (mayChangePort) port = await freePort();
        else await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  };

  // `proc` stays the last process after stop(), so its output can still be read.
  let proc = await launchWithRetry(opts.port === undefined);
  let running = true;

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (!running) return;
    running = false;
    await proc.kill(signal);
  };
  const start = async () => {
    if (running && proc.alive) return;
    proc = await launchWithRetry(false);
    running = true;
  };

  return {
    get url() {
      return spec.url(port);
    },
    get port() {
      return port;
    },
    get proc() {
      return proc;
    },
    async restart({ signal = 'SIGTERM', downtimeMs = 0 } = {}) {
      await stop(signal);
      if (downtimeMs > 0) await new Promise((r) => setTimeout(r, downtimeMs));
      await start();
    },
    start,
    stop,
  };
}

/**
 * A nats-server on a free 127.0.0.1 port, with JetStream (durable sessions) storing in a
 * temporary directory that outlives restarts and goes with stop().
 */
export async function startNats(opts: ServiceOptions = {}): Promise<Service> {
  const dir = mkdtempSync(join(tmpdir(), 'starling-nats-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  let svc: Service;
  try {
    svc = await startService(
      {
        name: 'nats-server',
        bin: findBinary('nats-server'),
        args: (port) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
        ready: /Server is ready/,
        url: (port) => `nats://127.0.0.1:${port}`,
      },
      opts,
    );
  } catch (err) {
    removeDir();
    throw err;
  }
  const stop = svc.stop;
  return Object.assign(svc, {
    async stop(signal?: NodeJS.Signals) {
      await stop(signal);
      removeDir();
    },
  });
}

/** A throwaway redis-server (no persistence) on a free 127.0.0.1 port. */
export function startRedis(opts: ServiceOptions = {}): Promise<Service> {
  return startService(
    {
      name: 'redis-server',
      bin: findBinary('redis-server'),
      // --dir: should anything still get written, keep it out of the repository.
      args: (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()],
      ready: /Ready to accept connections/,
      url: (port) => `redis://127.0.0.1:${port}`,
    },
    opts,
  );
}
