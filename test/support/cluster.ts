/**
 * A real cluster for integration tests: one nats-server, one redis-server and node processes
 * (`node dist/node/main.js`) named `<name>@127.0.0.1`, with short heartbeats so that failure
 * detection fits in a test. The test process also gets its own NATS RPC transport (as a
 * gateway has) and Redis store, to call nodes over RPC and to read the shared state as the
 * nodes see it.
 */
import { NatsRpcTransport } from '../../shared/cluster/nats/rpc.js';
import { RedisStore } from '../../shared/cluster/redis-store.js';
import { after, before } from 'node:test';
import { startNode, type NodeProcess } from './broker.js';
import { closeAllClients } from './mqtt-clients.js';
import { killAll } from './processes.js';
import { startNatsCluster, startRedisSentinel, type NatsCluster, type RedisSentinel } from './ha-services.js';
import { startNats, startRedis, type Service } from './services.js';
export { eventually, sleep } from './wait.js';

export const HEARTBEAT_MS = 200;
export const HEARTBEAT_TTL_MS = 600;
export const RPC_TIMEOUT_MS = 1000;

export interface TestCluster {
  /** the NATS server (with `natsCluster`: the first of them) */
  readonly nats: Service;
  /** the Redis server (with `sentinel`: the primary it started with) */
  readonly redis: Service;
  /** with topology.natsServers: every NATS server; the nodes' NATS_URL lists them all */
  readonly natsCluster?: NatsCluster;
  /** with topology.sentinel: the primary, its replica and the sentinels; the nodes' REDIS_URL names the sentinels */
  readonly sentinel?: RedisSentinel;
  /** running nodes by short name ('n1' …) */
  readonly nodes: Map<string, NodeProcess>;
  /** the test's own view of the store and transport */
  readonly store: RedisStore;
  readonly transport: NatsRpcTransport;
  node(short: string): NodeProcess;
  /** starts (or starts again, under the same name) one node; `env` adds to its environment this once (e.g. its old ports) */
  startNode(short: string, env?: Record<string, string>): Promise<NodeProcess>;
  /** stops everything; never throws */
  stop(): Promise<void>;
}

export const fullName = (short: string): string => `${short}@127.0.0.1`;

/** The replicated services instead of single servers (ha-services.ts). */
export interface Topology {
  /** a NATS cluster of this many servers */
  natsServers?: number;
  /** Redis primary + replica + three sentinels */
  sentinel?: boolean;
}

/**
 * `env` applies to every node; `perNode` adds to it by short name (a setting one node has and
 * the others lack), also when that node is started again.
 */
export async function startCluster(shorts: string[], env: Record<string, string> = {}, perNode: Record<string, Record<string, string>> = {}, topology: Topology = {}): Promise<TestCluster> {
  const [natsCluster, sentinel] = await Promise.all([topology.natsServers ? startNatsCluster(topology.natsServers, { jetstream: true }) : undefined, topology.sentinel ? startRedisSentinel() : undefined]);
  const [nats, redis] = await Promise.all([natsCluster?.servers[0] ?? startNats(), sentinel?.primary ?? startRedis()]);
  const natsUrl = natsCluster?.url ?? nats.url;
  const redisUrl = sentinel?.url ?? redis.url;
  const nodes = new Map<string, NodeProcess>();
  const store = new RedisStore({ url: redisUrl });
  const transport = new NatsRpcTransport({ url: natsUrl, name: 'test' });
  const launch = async (short: string, extra: Record<string, string> = {}): Promise<NodeProcess> => {
    const n = await startNode({
      name: short,
      env: {
        NATS_URL: natsUrl,
        REDIS_URL: redisUrl,
        STARLING_NODE_NAME: fullName(short),
        STARLING_HEARTBEAT_MS: String(HEARTBEAT_MS),
        STARLING_HEARTBEAT_TTL_MS: String(HEARTBEAT_TTL_MS),
        STARLING_RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS),
        ...env,
        ...perNode[short],
        ...extra,
      },
    });
    nodes.set(short, n);
    return n;
  };
  const c: TestCluster = {
    nats,
    redis,
    natsCluster,
    sentinel,
    nodes,
    store,
    transport,
    node(short) {
      const n = nodes.get(short);
      if (!n) throw new Error(`node ${short} is not running`);
      return n;
    },
    startNode: launch,
    async stop() {
      await Promise.allSettled([...nodes.values()].map((n) => n.stop(3000)));
      await Promise.allSettled([store.close(), transport.close()]);
      await Promise.allSettled([nats.stop(), redis.stop(), natsCluster?.stop(), sentinel?.stop()]);
      await killAll(500);
    },
  };
  try {
    await Promise.all([store.start(), transport.start(), ...shorts.map((s) => launch(s))]);
  } catch (err) {
    await c.stop();
    throw err;
  }
  return c;
}



/**
 * A cluster for one test file: started before its tests, stopped after them (MQTT clients
 * of the file closed first). Read `.c` inside the tests.
 */
export function useCluster(shorts: string[], env: Record<string, string> = {}, topology: Topology = {}): { readonly c: TestCluster } {
  let cluster: TestCluster | undefined;
  before(async () => {
    cluster = await startCluster(shorts, env, {}, topology);
  });
  after(async () => {
    await closeAllClients();
    await cluster?.stop();
  });
  return {
    get c() {
      if (!cluster) throw new Error('the cluster is not started');
      return cluster;
    },
  };
}
