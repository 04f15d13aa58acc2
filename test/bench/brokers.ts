/**
 * The brokers under test. Each runs as its own child process so its RSS and CPU time can
 * be read from /proc without the load generator or the orchestrator mixed in.
 *
 * A scenario asks for N running brokers of one kind (N = 2 for a future cluster
 * scenario); `StartOptions.env` lets such a scenario pass per-node settings.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, onCleanup, rssKB, sleep, stopChild, track } from './procs.js';

export const HOST = '127.0.0.1';

/** dist/test/bench → project root. */
const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '..', '..', '..');
const STARLING_MAIN = join(ROOT, 'dist', 'node', 'main.js');
const MOSQUITTO = '/usr/sbin/mosquitto';

export interface StartOptions {
  /** Extra environment (Starling per-node settings in cluster scenarios). */
  env?: Record<string, string>;
}

export interface RunningBroker {
  readonly kind: string;
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  rssKB(): number;
  cpuSeconds(): number;
  /** Non-null once the process has exited (a crash mid-scenario makes the result invalid). */
  exited(): string | null;
  stderrTail(): string;
  stop(): Promise<void>;
}

export interface BrokerKind {
  readonly name: string;
  readonly label: string;
  /** Why this broker cannot run here, or null if it can. */
  unavailable(): string | null;
  version(): string;
  start(opts?: StartOptions): Promise<RunningBroker>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolvePort(port));
    });
  });
}

/** Ready = accepts a TCP connection; fails fast if the process dies first. */
async function waitListening(child: ChildProcess, port: number, what: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before listening`);
    }
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect({ host: HOST, port });
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
}

async function launch(
  kind: string,
  cmd: string,
  args: string[],
  port: number,
  env: NodeJS.ProcessEnv,
  cleanup: () => void = () => {},
): Promise<RunningBroker> {
  const child = track(spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exitInfo: string | null = null;
  child.once('exit', (code, sig) => {
    exitInfo = `exited with ${code ?? sig}`;
    cleanup();
  });
  try {
    await waitListening(child, port, kind);
  } catch (e) {
    await stopChild(child);
    throw new Error(`${(e as Error).message}${stderr ? `\n${stderr.trim()}` : ''}`);
  }
  const pid = child.pid!;
  return {
    kind,
    host: HOST,
    port,
    pid,
    rssKB: () => rssKB(pid),
    cpuSeconds: () => cpuSeconds(pid),
    exited: () => exitInfo,
    stderrTail: () => stderr,
    stop: () => stopChild(child),
  };
}

const nodeScript = (name: string) => join(here, 'peers', name);

export const starling: BrokerKind = {
  name: 'starling',
  label: 'Starling',
  unavailable: () => (existsSync(STARLING_MAIN) ? null : `${STARLING_MAIN} not built`),
  version: () => `node ${process.version}`,
  async start(opts = {}) {
    const port = await freePort();
    // BENCH_STARLING_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the broker under load.
    const nodeArgs = process.env.BENCH_STARLING_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    return launch('starling', process.execPath, [...nodeArgs, STARLING_MAIN], port, {
      ...process.env,
      STARLING_BIND: HOST,
      STARLING_MQTT_PORT: String(port),
      STARLING_WS_PORT: '-1',
      STARLING_LOG_LEVEL: 'warn',
      // No periodic $SYS traffic or presence events: measure message routing only.
      STARLING_SYS_INTERVAL_MS: '0',
      STARLING_SYS_HEARTBEAT_MS: '0',
      STARLING_PRESENCE_EVENTS: 'false',
      ...opts.env,
    });
  },
};

export const mosquitto: BrokerKind = {
  name: 'mosquitto',
  label: 'Mosquitto',
  unavailable: () => (existsSync(MOSQUITTO) ? null : `${MOSQUITTO} not installed`),
  version: () => {
    try {
      const out = spawnSyncText(MOSQUITTO, ['-h']);
      return /mosquitto version (\S+)/.exec(out)?.[1] ?? 'unknown';
    } catch {
      return 'unknown';
    }
  },
  async start() {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'starling-bench-mosq-'));
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${port} ${HOST}`,
        'allow_anonymous true',
        'max_queued_messages 1000',
        'max_inflight_messages 32',
        'persistence false',
        // $SYS off, like Starling's STARLING_SYS_INTERVAL_MS=0.
        'sys_interval 0',
        'log_dest stderr',
        'log_type error',
        '',
      ].join('\n'),
    );
    const removeDir = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    return launch('mosquitto', MOSQUITTO, ['-c', conf], port, process.env, removeDir);
  },
};

export const aedes: BrokerKind = {
  name: 'aedes',
  label: 'Aedes',
  unavailable: () => (existsSync(nodeScript('aedes-server.js')) ? null : 'aedes-server.js not built'),
  version: () => {
    try {
      return (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'aedes', 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  },
  async start() {
    const port = await freePort();
    return launch('aedes', process.execPath, [nodeScript('aedes-server.js')], port, { ...process.env, BENCH_PORT: String(port) });
  },
};

/** Byte relay with no MQTT routing: its results are the load generator's ceiling. */
export const nullBroker: BrokerKind = {
  name: 'null',
  label: 'null relay',
  unavailable: () => (existsSync(nodeScript('null-broker.js')) ? null : 'null-broker.js not built'),
  version: () => `node ${process.version}`,
  async start() {
    const port = await freePort();
    return launch('null', process.execPath, [nodeScript('null-broker.js')], port, { ...process.env, BENCH_PORT: String(port) });
  },
};

export const BROKERS: readonly BrokerKind[] = [starling, mosquitto, aedes, nullBroker];

function spawnSyncText(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}
