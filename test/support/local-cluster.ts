/**
 * `npm run cluster` (deploy/cluster.mjs) as a test starts it: on free 127.0.0.1 ports
 * (nodes and gateways pick their own), with its runtime files in a temporary folder and a
 * short HAProxy check interval. The launcher runs in its own process group, and every
 * process it starts stays in that group, so a test can always kill whatever is left of
 * the cluster, even if the launcher itself was killed before it could clean up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './broker.js';
import { freePorts } from './ports.js';
import { findBinary } from './services.js';
// processes.js turns SIGTERM/SIGINT into a normal exit, so the 'exit' handler below runs.
import './processes.js';
import type { ExitStatus } from './processes.js';

/** One row of the launcher's table (and of its cluster.json). */
export interface ClusterRow {
  name: string;
  what: string;
  address: string;
  port: number;
  pid: number;
}

export interface LaunchedCluster {
  /** npm's pid, which is also the id of the process group of everything the cluster runs. */
  readonly pid: number;
  readonly runDir: string;
  /** The ports the test chose (the launcher's CLUSTER_*_PORT settings). */
  readonly ports: { mqtt: number; api: number; stats: number; nats: number; redis: number; prometheus: number };
  /** What listens where, from cluster.json; empty until ready. */
  readonly rows: ClusterRow[];
  row(name: string): ClusterRow;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<ExitStatus>;
  /** SIGTERM to npm, which passes it on to the launcher; resolves with its exit status (SIGKILL to its group after graceMs). */
  stop(graceMs?: number): Promise<ExitStatus>;
  /** SIGKILL to every process left in the launcher's group, and the runtime folder removed. Never throws. */
  destroy(): Promise<void>;
}

// A cluster started by the launcher gets nothing from the developer's shell but PATH and
// the like: no inherited STARLING_*, CLUSTER_*, NATS_URL or REDIS_URL.
const HERMETIC = /^(STARLING_|CLUSTER_|NATS_URL$|REDIS_URL$)/;

const groups = new Set<number>();
process.on('exit', () => {
  for (const g of groups) killGroup(g, 'SIGKILL');
});

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* group already empty */
  }
}

/** Pids of the live processes whose process group is `pgid`. */
export function processGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp ...": fields after the last ')'
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

export interface LaunchOptions {
  /** Extra environment for the launcher (and so for its nodes and gateways). */
  env?: Record<string, string>;
  /** Wait for "cluster ready" (default); false: resolve at once, e.g. to watch a failed start. */
  waitReady?: boolean;
  timeoutMs?: number;
}

/** Stops a launched cluster as an operator would (SIGTERM), then removes whatever is left. */
export async function stopCluster(c: LaunchedCluster): Promise<void> {
  await c.stop(15_000);
  await c.destroy();
}

/**
 * Starts the launcher's cluster on free ports. A port found free can be taken by another
 * process before the launcher binds it; then the launcher stops with "address already in
 * use", and it is started again on other free ports (at most 3 times).
 */
export async function launchCluster(opts: LaunchOptions = {}): Promise<LaunchedCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchOnce(opts);
    } catch (e) {
      if (attempt >= 3 || !/address already in use|EADDRINUSE/i.test((e as Error).message)) throw e; // (HAProxy writes "Address already in use")
    }
  }
}

async function launchOnce(opts: LaunchOptions): Promise<LaunchedCluster> {
  const [mqtt, api, stats, nats, redis, prometheus] = await freePorts(6);
  const ports = { mqtt, api, stats, nats, redis, prometheus };
  const runDir = mkdtempSync(join(tmpdir(), 'starling-cluster-'));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !HERMETIC.test(k)) env[k] = v;
  Object.assign(env, {
    CLUSTER_RUN_DIR: runDir,
    CLUSTER_MQTT_PORT: String(mqtt),
    CLUSTER_API_PORT: String(api),
    CLUSTER_HAPROXY_STATS_PORT: String(stats),
    CLUSTER_NATS_PORT: String(nats),
    CLUSTER_REDIS_PORT: String(redis),
    CLUSTER_PROMETHEUS_PORT: String(prometheus),
    CLUSTER_NODE_MQTT_PORT: '0',
    CLUSTER_NODE_WS_PORT: '0',
    CLUSTER_GATEWAY_PORT: '0',
    CLUSTER_HAPROXY_CHECK_INTER: '200ms',
    STARLING_LOG_LEVEL: 'info',
    ...opts.env,
  });

  // As an operator starts it: `npm run cluster`, so npm's passing signals on is tested too.
  const child: ChildProcess = spawn(findBinary('npm'), ['run', '--silent', 'cluster'], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pid = child.pid!;
  groups.add(pid);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (process.env.STARLING_TEST_ECHO) process.stderr.write(`[cluster] ${d}`);
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    if (process.env.STARLING_TEST_ECHO) process.stderr.write(`[cluster!] ${d}`);
  });
  let gone = false;
  const exited = new Promise<ExitStatus>((resolve) =>
    child.once('exit', (code, signal) => {
      gone = true; // its pid may be reused from now on: never signal it again
      resolve({ code, signal });
    }),
  );
  let rows: ClusterRow[] = [];

  const destroy = async (): Promise<void> => {
    // the group outlives npm's exit while a child of it runs; an empty group is never signalled
    if (processGroup(pid).length > 0) killGroup(pid, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (processGroup(pid).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    groups.delete(pid);
    rmSync(runDir, { recursive: true, force: true });
  };

  const c: LaunchedCluster = {
    pid,
    runDir,
    ports,
    get rows() {
      return rows;
    },
    row(name) {
      const r = rows.find((x) => x.name === name);
      if (!r) throw new Error(`the cluster has no ${name}: ${JSON.stringify(rows)}`);
      return r;
    },
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(graceMs = 30_000) {
      if (gone) return exited;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      const s = await exited;
      clearTimeout(timer);
      return s;
    },
    destroy,
  };

  if (opts.waitReady === false) return c;
  const timeoutMs = opts.timeoutMs ?? 90_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the cluster was not ready within ${timeoutMs} ms`)), timeoutMs);
      const onData = () => {
        if (/^cluster ready$/m.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      void exited.then((s) => {
        clearTimeout(timer);
        reject(new Error(`the launcher exited (code ${s.code}, signal ${s.signal}) before the cluster was ready`));
      });
      onData();
    });
    rows = JSON.parse(readFileSync(join(runDir, 'cluster.json'), 'utf8')) as ClusterRow[];
  } catch (e) {
    await destroy();
    throw new Error(`${(e as Error).message}\nstdout:\n${out}\nstderr:\n${err}`);
  }
  return c;
}
