/**
 * How fast a cluster's route writes reach Redis and every node: `--nodes` stores on one
 * throwaway redis-server, each a node writing `--routes`/`--nodes` distinct filters (`--per-turn`
 * of them per I/O turn, as a node subscribing many clients does) and keeping the others'
 * routes in a ClusterRoutes from the store's notices. Two ways of writing, A/B in one run:
 *
 *   batched    RouteSync as a node runs it: a batch per turn (at most STARLING_ROUTE_BATCH_MAX,
 *              `--batch-max`), one in flight at a time, one route-delta notice per batch;
 *   per-route  one script call and one notice per route, sent at once (the former way).
 *
 * It reports routes/s from the first write until every route is in Redis and applied on every
 * node, the writes that failed (a per-route burst meets the 5 s command timeout), and the CPU
 * of this process (all the nodes' notice handling) and of Redis.
 *
 *   node dist/test/bench/tools/route-write-rate.js [--routes=120000] [--nodes=6] [--per-turn=200] [--batch-max=1000] [--mode=both|batched|per-route] [--limit-s=90]
 *
 * Not part of `npm test`.
 */
import { Redis } from 'ioredis';
import { RedisStore } from '../../../shared/cluster/redis-store.js';
import { createLogger } from '../../../shared/logger.js';
import type { Membership } from '../../../node/cluster/membership.js';
import { RouteSync } from '../../../node/cluster/route-sync.js';
import { ClusterRoutes } from '../../../node/cluster/routes.js';
import { startRedis } from '../../support/services.js';

const arg = (name: string, def: string): string => process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const ROUTES = Number(arg('routes', '120000'));
const NODES = Number(arg('nodes', '6'));
const PER_TURN = Number(arg('per-turn', '200'));
const BATCH_MAX = Number(arg('batch-max', '1000'));
const LIMIT_MS = Number(arg('limit-s', '90')) * 1000;
const MODES = arg('mode', 'both') === 'both' ? ['per-route', 'batched'] : [arg('mode', 'both')];

const turn = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = createLogger('silent');

async function redisCpuS(r: Redis): Promise<number> {
  const info = await r.info('cpu');
  const v = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return v('used_cpu_sys') + v('used_cpu_user');
}

async function storedRoutes(r: Redis, prefix: string): Promise<number> {
  let n = 0;
  for (let i = 0; i < NODES; i++) n += await r.scard(`${prefix}:routes:n${i}`);
  return n;
}

async function run(url: string, mode: string): Promise<void> {
  const prefix = `rate-${mode}`;
  const raw = new Redis(url);
  const names = Array.from({ length: NODES }, (_, i) => `n${i}`);
  const stores = names.map(() => new RedisStore({ url, prefix, log }));
  const tables = names.map((n) => new ClusterRoutes(n));
  stores.forEach((s, i) => s.onRouteChanges((cs) => tables[i]!.applyAll(cs)));
  await Promise.all(stores.map((s) => s.start()));
  const syncs = stores.map((s, i) => new RouteSync(s, tables[i]!, {} as Membership, names[i]!, BATCH_MAX, log));
  const perNode = Math.floor(ROUTES / NODES);
  const total = perNode * NODES;
  let failed = 0;
  const cpu0 = process.cpuUsage();
  const redis0 = await redisCpuS(raw);
  const t0 = performance.now();
  for (let k = 0; k < perNode; k += PER_TURN) {
    for (let i = 0; i < NODES; i++) {
      for (let j = k; j < Math.min(perNode, k + PER_TURN); j++) {
        const filter = `rate/${i}/${j}/+`;
        if (mode === 'batched') syncs[i]!.routeAdded(filter);
        else stores[i]!.writeRoutes(names[i]!, [{ op: 'add', filter }]).catch(() => failed++);
      }
    }
    await turn();
  }
  const fed = performance.now() - t0;
  const want = total - perNode; // every node holds the others' routes
  let stored = 0;
  while (performance.now() - t0 < LIMIT_MS) {
    stored = await storedRoutes(raw, prefix);
    if (stored === total && tables.every((t) => t.size === want)) break;
    await sleep(20);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const redisCpu = (await redisCpuS(raw)) - redis0;
  const applied = Math.min(...tables.map((t) => t.size));
  const done = stored === total && applied === want;
  console.log(
    `${mode.padEnd(9)} ${done ? 'all' : 'NOT all'} ${total} routes stored and applied on ${NODES} nodes in ${(ms / 1000).toFixed(2)} s: ` +
      `${Math.round((done ? total : stored) / (ms / 1000))} routes/s (fed in ${(fed / 1000).toFixed(2)} s; ${stored} in Redis, fewest applied ${applied} of ${want}; ${failed} writes failed); ` +
      `CPU: nodes ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, Redis ${redisCpu.toFixed(2)} s`,
  );
  for (const s of syncs) s.stop();
  await Promise.all(stores.map((s) => s.close()));
  await raw.flushall();
  raw.disconnect();
}

const redis = await startRedis();
try {
  for (const mode of MODES) await run(redis.url, mode);
} finally {
  await redis.stop();
}
