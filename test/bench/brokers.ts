/**
 * The brokers under test. Each runs as its own child process so its RSS and CPU time can
 * be read from /proc without the load generator or the orchestrator mixed in.
 *
 * A scenario asks for N running brokers of one kind; `StartOptions.env` lets it pass
 * per-node settings. Cluster scenarios (Starling only) also get a nats-server and a
 * redis-server (startClusterServices), started before and stopped after the nodes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, onCleanup, rssKB, sleep, stopChild, track } from './procs.js';

export const HOST = '127.0.0.1';

/** dist/test/bench → project root. */
const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '..', '..', '..');
const STARLING_MAIN = join(ROOT, 'dist', 'node', 'main.js');
const GATEWAY_MAIN = join(ROOT, 'dist', 'gateway', 'main.js');
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
  /** Warning-or-worse log lines (Starling's JSON log on stdout) so far: message → count. */
  logWarnings(): Map<string, number>;
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
  const child = track(spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  // Starling logs JSON lines (pino) to stdout at level warn in the bench: a warning there
  // (NATS slow consumer, disconnects) explains a cluster result. Other output is dropped.
  const warnings = new Map<string, number>();
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!.slice(-4000);
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        const rec = JSON.parse(line) as { level?: number; msg?: string };
        if ((rec.level ?? 0) >= 40) warnings.set(rec.msg ?? line.slice(0, 100), (warnings.get(rec.msg ?? line.slice(0, 100)) ?? 0) + 1);
      } catch {
        // not a log record
      }
    }
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
    logWarnings: () => warnings,
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

/**
 * A Starling gateway (the management API) for the cluster at clusterEnv's NATS_URL and
 * REDIS_URL; ready once its API port accepts connections (after NATS, Redis and the
 * default app). BENCH_GATEWAY_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")
 * profiles it under load.
 */
export async function startGateway(clusterEnv: Record<string, string>): Promise<RunningBroker> {
  if (!existsSync(GATEWAY_MAIN)) throw new Error(`${GATEWAY_MAIN} not built`);
  const port = await freePort();
  const nodeArgs = process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return launch('gateway', process.execPath, [...nodeArgs, GATEWAY_MAIN], port, {
    ...process.env,
    ...clusterEnv,
    STARLING_BIND: HOST,
    STARLING_API_PORT: String(port),
    STARLING_LOG_LEVEL: 'warn',
  });
}

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

// --- cluster services ------------------------------------------------------------------

// Debian puts nats-server in /usr/sbin, which a non-root PATH often lacks.
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin', '/usr/local/bin'];

export function findBinary(name: string): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS]) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // keep looking
    }
  }
  return null;
}

/** A nats-server and a redis-server for one cluster scenario run, plus the nodes' environment. */
export interface ClusterServices {
  nats: RunningBroker;
  redis: RunningBroker;
  /** NATS_URL and REDIS_URL for the nodes. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Why a cluster scenario cannot run here, or null. */
export function clusterUnavailable(): string | null {
  const missing = ['nats-server', 'redis-server'].filter((b) => !findBinary(b));
  return missing.length ? `${missing.join(' and ')} not installed (Debian packages nats-server, redis-server)` : null;
}

export async function startClusterServices(): Promise<ClusterServices> {
  const why = clusterUnavailable();
  if (why) throw new Error(why);
  const [natsPort, redisPort] = [await freePort(), await freePort()];
  const started: RunningBroker[] = [];
  // JetStream (durable sessions) stores in a directory of the run, removed with it
  const jsDir = mkdtempSync(join(tmpdir(), 'starling-bench-js-'));
  try {
    // Both are tracked children (launch → track), so an error or Ctrl-C kills them too.
    started.push(await launch('nats-server', findBinary('nats-server')!, ['-a', HOST, '-p', String(natsPort), '-js', '-sd', jsDir], natsPort, process.env));
    started.push(
      await launch(
        'redis-server',
        findBinary('redis-server')!,
        // No persistence; --dir keeps any stray file out of the repository.
        ['--port', String(redisPort), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', tmpdir(), '--loglevel', 'warning'],
        redisPort,
        process.env,
      ),
    );
  } catch (e) {
    await Promise.all(started.map((s) => s.stop()));
    rmSync(jsDir, { recursive: true, force: true });
    throw e;
  }
  const [nats, redis] = started as [RunningBroker, RunningBroker];
  return {
    nats,
    redis,
    env: { NATS_URL: `nats://${HOST}:${natsPort}`, REDIS_URL: `redis://${HOST}:${redisPort}` },
    stop: async () => {
      await Promise.all(started.map((s) => s.stop()));
      rmSync(jsDir, { recursive: true, force: true });
    },
  };
}
