// The cluster services' alarms on real node processes: killing the cluster's redis-server
// raises cluster_store_unreachable on every node once the grace time has passed, and
// restarting it clears them; the same for nats-server and cluster_transport_unreachable.
// Seen as EMQX's $SYS/brokers/<node>/alarms/* messages by an MQTT subscriber on each node
// (local delivery needs neither service), and in the nodes' alarm lists over RPC.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { AlarmRow } from '../../shared/api/alarms.js';
import { eventually, fullName, RPC_TIMEOUT_MS, startCluster, type TestCluster } from '../support/cluster.js';
import { closeAllClients, connectClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';

const GRACE_MS = 300;
const SHORTS = ['a1', 'a2'];

let c: TestCluster | undefined;
const watchers = new Map<string, TestClient>();

before(async () => {
  c = await startCluster(SHORTS, { STARLING_ALARM_CLUSTER_GRACE_MS: String(GRACE_MS) });
  for (const s of SHORTS) {
    const w = await connectClient(tcpUrl(c.node(s).mqttPort), { clientId: uid(`links-${s}`) });
    await w.subscribe('$SYS/brokers/+/alarms/#');
    watchers.set(s, w);
  }
});

after(async () => {
  await closeAllClients();
  await c?.stop();
});

/** Each node's own alarm message, published on it, as its local subscriber gets it. */
async function published(short: string, event: 'activate' | 'deactivate', name: string, from: number): Promise<AlarmRow> {
  const m = await watchers.get(short)!.waitForMessage((r) => r.topic === `$SYS/brokers/${fullName(short)}/alarms/${event}` && (JSON.parse(r.payload) as AlarmRow).name === name, { from, timeoutMs: 10_000 });
  return JSON.parse(m.payload) as AlarmRow;
}

const list = (short: string, which: 'activated' | 'deactivated'): Promise<AlarmRow[]> => c!.transport.request(fullName(short), 'alarms.list', { which }, RPC_TIMEOUT_MS);

it('redis-server killed: cluster_store_unreachable on every node after the grace time, cleared when it is back', async () => {
  const name = 'cluster_store_unreachable';
  const marks = SHORTS.map((s) => watchers.get(s)!.mark());
  const killedAt = Date.now();
  await c!.redis.stop('SIGKILL');
  const raised = await Promise.all(SHORTS.map((s, i) => published(s, 'activate', name, marks[i]!)));
  for (const a of raised) {
    assert.equal(a.activated, true);
    assert.equal(a.deactivate_at, 'infinity');
    assert.equal(a.message, 'Cluster store (redis) is unreachable');
    assert.equal(a.details.service, 'redis');
    assert.ok(Number.isSafeInteger(a.details.unreachable_since));
    // not before the grace time
    assert.ok(a.activate_at / 1000 >= killedAt + GRACE_MS - 50, `raised ${a.activate_at / 1000 - killedAt} ms after the kill`);
  }
  // the transport still works: the nodes answer RPC with it active
  for (const s of SHORTS) assert.equal((await list(s, 'activated')).filter((a) => a.name === name).length, 1);

  const again = SHORTS.map((s) => watchers.get(s)!.mark());
  await c!.redis.start();
  const cleared = await Promise.all(SHORTS.map((s, i) => published(s, 'deactivate', name, again[i]!)));
  for (const [i, d] of cleared.entries()) {
    assert.equal(d.activated, false);
    assert.equal(d.activate_at, raised[i]!.activate_at);
    assert.ok(typeof d.deactivate_at === 'number' && d.deactivate_at > d.activate_at);
  }
  for (const s of SHORTS) {
    assert.deepEqual((await list(s, 'activated')).filter((a) => a.name === name), []);
    assert.equal((await list(s, 'deactivated')).filter((a) => a.name === name).length, 1);
  }
});

it('nats-server killed: cluster_transport_unreachable on every node, cleared when it is back', async () => {
  const name = 'cluster_transport_unreachable';
  const marks = SHORTS.map((s) => watchers.get(s)!.mark());
  await c!.nats.stop('SIGKILL');
  const raised = await Promise.all(SHORTS.map((s, i) => published(s, 'activate', name, marks[i]!)));
  for (const a of raised) {
    assert.equal(a.message, 'Cluster transport (nats) is unreachable');
    assert.equal(a.details.service, 'nats');
  }
  const again = SHORTS.map((s) => watchers.get(s)!.mark());
  await c!.nats.start();
  await Promise.all(SHORTS.map((s, i) => published(s, 'deactivate', name, again[i]!)));
  // once the test's own transport is back too, the history shows it over RPC
  await eventually(async () => {
    for (const s of SHORTS) assert.equal((await list(s, 'deactivated')).filter((a) => a.name === name).length, 1);
  }, 10_000);
});

it('a store outage shorter than the grace time raises nothing', async () => {
  const grace = 15_000;
  for (const s of SHORTS) await c!.transport.request(fullName(s), 'alarms.configure', { clusterGraceMs: grace }, RPC_TIMEOUT_MS);
  const marks = SHORTS.map((s) => watchers.get(s)!.mark());
  const down = Date.now();
  await c!.redis.restart({ signal: 'SIGKILL' });
  // every node is back on Redis (its heartbeat is in the registry again)
  await eventually(async () => {
    const nodes = (await c!.store.nodes()).filter((n) => n.heartbeatAt > down + 50).map((n) => n.name);
    assert.deepEqual(nodes.sort(), SHORTS.map(fullName));
  }, 10_000, 100);
  assert.ok(Date.now() - down < grace, 'the outage was shorter than the grace time');
  for (const [i, s] of SHORTS.entries()) {
    const w = watchers.get(s)!;
    await w.barrier();
    assert.deepEqual(
      // the cluster's alarms only: a loaded machine may well raise high_cpu_usage meanwhile
      w
        .messages()
        .slice(marks[i])
        .filter((m) => m.topic.endsWith('/alarms/activate') && (JSON.parse(m.payload) as AlarmRow).name.startsWith('cluster_'))
        .map((m) => m.payload),
      [],
    );
    assert.deepEqual((await list(s, 'activated')).filter((a) => a.name.startsWith('cluster_')), []);
  }
});
