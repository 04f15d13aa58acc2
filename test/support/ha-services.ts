/**
 * The replicated topologies for tests (services.ts starts the single servers): a NATS
 * cluster of n nats-server processes routed to each other, and a Redis primary with one
 * replica watched by three sentinels. Everything on free 127.0.0.1 ports, with its files in
 * a temp dir; killAll() (processes.ts) ends what a test leaves.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { findBinary, startRedis, startService, type Service } from './services.js';
import { eventually } from './wait.js';

export interface NatsCluster {
  readonly servers: Service[];
  /** every server's client URL, comma-separated: a NATS_URL */
  readonly url: string;
  /** the index in `servers` of the server a client connection named `name` is on now, or -1 */
  serverOf(name: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * n nats-server processes with `-cluster` and `-routes` to every other one; resolves once
 * each has a route to every other (the cluster is whole). `jetstream`: `-js` with a store dir
 * per server.
 */
export async function startNatsCluster(n = 3, opts: { jetstream?: boolean } = {}): Promise<NatsCluster> {
  const routePorts = await Promise.all(Array.from({ length: n }, () => freePort()));
  // each server's monitoring port: /connz tells which server a connection is on
  const monitorPorts = await Promise.all(Array.from({ length: n }, () => freePort()));
  const dir = mkdtempSync(join(tmpdir(), 'starling-nats-'));
  const bin = findBinary('nats-server');
  const servers = await Promise.all(
    routePorts.map((rp, i) =>
      startService(
        {
          name: `nats-server#${i + 1}`,
          bin,
          args: (port) => [
            '-a', '127.0.0.1', '-p', String(port), '-n', `nats-${i + 1}`, '-m', String(monitorPorts[i]),
            '--cluster_name', 'starling', '-cluster', `nats://127.0.0.1:${rp}`,
            '-routes', routePorts.filter((p) => p !== rp).map((p) => `nats://127.0.0.1:${p}`).join(','),
            ...(opts.jetstream ? ['-js', '-sd', join(dir, `js-${i + 1}`)] : []),
          ],
          ready: /Server is ready/,
          url: (port) => `nats://127.0.0.1:${port}`,
        },
        {},
      ),
    ),
  );
  // a route is logged once per peer ("Route connection created"), on either side
  await Promise.all(
    servers.map((s) =>
      eventually(() => {
        if (s.proc.lines.filter((l) => /Route connection created/.test(l)).length < n - 1) throw new Error(`${s.proc.name} has no route to every other server`);
      }, 15_000),
    ),
  );
  // JetStream is usable once its meta group has elected a leader
  if (opts.jetstream) {
    await eventually(() => {
      if (!servers.some((s) => s.proc.lines.some((l) => /new JetStream cluster metadata leader|JetStream cluster new metadata leader/.test(l)))) throw new Error('no JetStream metadata leader yet');
    }, 15_000);
  }
  return {
    servers,
    get url() {
      return servers.map((s) => s.url).join(',');
    },
    async serverOf(name) {
      for (let i = 0; i < n; i++) {
        if (!servers[i]!.proc.alive) continue;
        const res = await fetch(`http://127.0.0.1:${monitorPorts[i]}/connz?limit=1024`).catch(() => undefined);
        if (!res?.ok) continue;
        const connz = (await res.json()) as { connections?: { name?: string }[] };
        if (connz.connections?.some((c) => c.name === name)) return i;
      }
      return -1;
    },
    async stop() {
      await Promise.allSettled(servers.map((s) => s.stop('SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const SENTINEL_MASTER = 'mymaster';

export interface RedisSentinel {
  readonly primary: Service;
  readonly replica: Service;
  readonly sentinels: Service[];
  /** redis-sentinel://127.0.0.1:a,127.0.0.1:b,127.0.0.1:c/mymaster: a REDIS_URL */
  readonly url: string;
  /** the port of the server the sentinels name as primary now */
  currentPrimaryPort(): Promise<number>;
  stop(): Promise<void>;
}

/** A sentinel's answer to SENTINEL MASTER, as a record. */
async function sentinelMaster(port: number): Promise<Record<string, string>> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  try {
    await r.connect();
    const flat = (await r.call('SENTINEL', 'MASTER', SENTINEL_MASTER)) as string[];
    const rec: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) rec[flat[i]!] = flat[i + 1]!;
    return rec;
  } finally {
    r.disconnect();
  }
}

/**
 * A primary, a replica of it (`--replicaof`) and three sentinels (quorum 2) with short
 * timeouts: the primary is deemed down after 1 s, a failover may take 3 s. Resolves once
 * every sentinel sees the replica and the two other sentinels (a failover can happen).
 */
export async function startRedisSentinel(): Promise<RedisSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'starling-sentinel-'));
  // A replica writes the dump it syncs from to its dir, and any server loads one found there
  // at start: a dir of their own each, not the shared temp dir startRedis() uses.
  const dirOf = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d);
    return ['--dir', d];
  };
  const primary = await startRedis({ args: dirOf('primary') });
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port), ...dirOf('replica')] });
  await replica.proc.waitForLine(/MASTER <-> REPLICA sync: Finished with success|Master accepted a Partial Resynchronization/, 10_000);
  const bin = findBinary('redis-sentinel', 'redis-sentinel');
  const sentinels = await Promise.all(
    [1, 2, 3].map(async (i) => {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      // sentinel rewrites its config file (what it learnt): one writable file each
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER} 3000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
          '',
        ].join('\n'),
      );
      return startService({ name: `redis-sentinel#${i}`, bin, args: () => [conf], ready: /\+monitor master/, url: (p) => `127.0.0.1:${p}` }, { port });
    }),
  );
  await Promise.all(
    sentinels.map((s) =>
      eventually(
        async () => {
          const m = await sentinelMaster(s.port);
          if (m['num-slaves'] !== '1' || m['num-other-sentinels'] !== '2') throw new Error(`${s.proc.name} does not see the replica and the other sentinels yet`);
        },
        20_000,
        100,
      ),
    ),
  );
  return {
    primary,
    replica,
    sentinels,
    url: `redis-sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${SENTINEL_MASTER}`,
    async currentPrimaryPort() {
      for (const s of sentinels) {
        try {
          return Number((await sentinelMaster(s.port)).port);
        } catch {
          /* that sentinel is away: ask the next */
        }
      }
      throw new Error('no sentinel answers');
    },
    async stop() {
      await Promise.allSettled([...sentinels, replica, primary].map((s) => s.stop('SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
