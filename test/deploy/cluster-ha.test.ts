// `CLUSTER_HA=1 npm run cluster`: the deployable topology without a single point of failure
// (three routed nats-servers, a Redis primary with a replica and three sentinels) as real
// local processes. Traffic through HAProxy crosses nodes, and keeps doing so after the NATS
// server and the Redis primary are killed with SIGKILL one after the other.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { api, ok } from '../support/gateway.js';
import { launchCluster, processGroup, stopCluster, type LaunchedCluster } from '../support/local-cluster.js';
import { closeAllClients, connectClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';
import { isPortFree } from '../support/ports.js';
import { eventually } from '../support/wait.js';

const BOUNDED = { timeout: 90_000 };
const SERVICES = ['nats1', 'nats2', 'nats3', 'redis', 'redis-replica', 'sentinel1', 'sentinel2', 'sentinel3'];

let c: LaunchedCluster;
let apiUrl: string;
/** the first NATS and Redis ports given to the launcher (c.ports has the defaults it overrode) */
let natsPort: number;
let redisPort: number;

/** The first of `n` consecutive ports free on 127.0.0.1 now (the launcher counts up from each setting). */
async function freeRun(n: number, taken: Set<number>): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const run = Array.from({ length: n }, (_, i) => base + i);
    if (run.some((p) => taken.has(p))) continue;
    if ((await Promise.all(run.map(isPortFree))).every(Boolean)) {
      run.forEach((p) => taken.add(p));
      return base;
    }
  }
}

before(async () => {
  const taken = new Set<number>();
  const [nats, routes, redis, sentinel] = [await freeRun(3, taken), await freeRun(3, taken), await freeRun(2, taken), await freeRun(3, taken)];
  natsPort = nats;
  redisPort = redis;
  c = await launchCluster({
    env: { CLUSTER_HA: '1', CLUSTER_NATS_PORT: String(nats), CLUSTER_NATS_CLUSTER_PORT: String(routes), CLUSTER_REDIS_PORT: String(redis), CLUSTER_SENTINEL_PORT: String(sentinel) },
  });
  apiUrl = `http://127.0.0.1:${c.ports.api}`;
}, { timeout: 120_000 });

after(() => closeAllClients().then(() => c && stopCluster(c)), { timeout: 60_000 });

/** A QoS 1 message through HAProxy from pub to sub (on other nodes: leastconn) arrives. */
async function crosses(sub: TestClient, pub: TestClient, topic: string, payload: string): Promise<void> {
  await pub.publish(topic, payload, { qos: 1 });
  await sub.waitForMessage((m) => m.topic === topic && m.payload === payload);
}

it('starts three NATS servers and Redis with Sentinel, and the nodes use them all', BOUNDED, async () => {
  const group = processGroup(c.pid);
  for (const name of SERVICES) {
    const row = c.row(name);
    assert.ok(row.port > 0 && group.includes(row.pid), `${name}: ${JSON.stringify(row)}`);
  }
  assert.deepEqual(['nats1', 'nats2', 'nats3'].map((n) => c.row(n).port), [natsPort, natsPort + 1, natsPort + 2]);
  assert.deepEqual(['redis', 'redis-replica'].map((n) => c.row(n).port), [redisPort, redisPort + 1]);
  assert.match(c.row('redis-url').address, /^redis-sentinel:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\/starling$/);
  const r = await api(apiUrl, 'GET', '/api/v4/nodes');
  ok(r);
  assert.equal(r.body.data.length, 3);
});

it('traffic through HAProxy crosses nodes before and after a NATS server and the Redis primary are killed', BOUNDED, async (t) => {
  const topic = `ha/${uid('t')}`;
  const sub = await connectClient(tcpUrl(c.ports.mqtt), { clientId: uid('sub') }, t);
  await sub.subscribe(`${topic}/#`, { qos: 1 });
  const pub = await connectClient(tcpUrl(c.ports.mqtt), { clientId: uid('pub') }, t);
  await crosses(sub, pub, `${topic}/a`, 'before');

  process.kill(c.row('nats1').pid, 'SIGKILL');
  await eventually(() => crosses(sub, pub, `${topic}/b`, 'after nats1'), 10_000, 200);

  process.kill(c.row('redis').pid, 'SIGKILL');
  await crosses(sub, pub, `${topic}/c`, 'during the Redis failover');
  // the nodes follow Sentinel to the promoted replica: a new subscription routes across nodes again
  await eventually(
    async () => {
      const late = await connectClient(tcpUrl(c.ports.mqtt), { clientId: uid('late') }, t);
      try {
        await late.subscribe(`${topic}/late`, { qos: 1 });
        await eventually(() => crosses(late, pub, `${topic}/late`, 'after the failover'), 3000, 200);
      } finally {
        await late.destroy();
      }
    },
    30_000,
    500,
  );
  const r = await api(apiUrl, 'GET', '/api/v4/nodes');
  ok(r);
  assert.equal(r.body.data.length, 3);
});
