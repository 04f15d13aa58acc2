/**
 * A two-node broker cluster over Redis with Sentinel (a primary, a replica, three sentinels;
 * REDIS_URL names the sentinels): numbered QoS 1 and QoS 2 streams from a publisher on n1 to
 * a subscriber on n2 while the primary is killed with SIGKILL and Sentinel promotes the
 * replica. Local and cross-node traffic flows on (routes are held in memory, messages cross
 * on NATS); the nodes follow the promotion by themselves and write their routes and
 * registrations again, so the new primary holds every one, and a subscription made after
 * the failover routes across nodes. What the failover cost is reported as test diagnostics.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { eventually, fullName, sleep, startCluster, type TestCluster } from '../support/cluster.js';
import { checkStream, startStream, streamCost } from '../support/ha-streams.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';

let c: TestCluster;

before(async () => {
  c = await startCluster(['n1', 'n2'], {}, {}, { sentinel: true });
});

after(async () => {
  await closeAllClients();
  await c?.stop();
});

test('the Redis primary killed, Sentinel promoting the replica: nothing acknowledged, no route and no registration is lost', { timeout: 90_000 }, async (t) => {
  const rs = c.sentinel!;
  const sub = await connectClient(tcpUrl(c.node('n2').mqttPort), { clientId: uid('sub') }, t);
  await sub.subscribe(['ha/r1', 'ha/r2'], { qos: 2 });
  const pub1 = await connectClient(tcpUrl(c.node('n1').mqttPort), { clientId: uid('pub1') }, t);
  const pub2 = await connectClient(tcpUrl(c.node('n1').mqttPort), { clientId: uid('pub2') }, t);
  const clients = [
    [sub.clientId, 'n2'],
    [pub1.clientId, 'n1'],
    [pub2.clientId, 'n1'],
  ] as const;
  await eventually(async () => {
    await pub1.publish('ha/r1', 'probe', { qos: 1 });
    assert.ok(sub.messages('ha/r1').length > 0);
  }, 5000, 50);
  // the replica has what the primary has before it goes
  await eventually(async () => {
    for (const [id, node] of clients) assert.equal(await c.store.lookupClient(id), fullName(node));
  });

  const q1 = startStream(pub1, sub, 'ha/r1', 1);
  const q2 = startStream(pub2, sub, 'ha/r2', 2);
  await sleep(1000);
  const killedAt = performance.now();
  await rs.primary.stop('SIGKILL');
  await eventually(async () => assert.equal(await rs.currentPrimaryPort(), rs.replica.port, 'the replica is promoted'), 20_000, 50);
  const promotedMs = performance.now() - killedAt;
  // the store answers again, from the new primary
  await eventually(() => c.store.nodes(), 10_000, 50);
  const storeBackMs = performance.now() - killedAt;
  t.diagnostic(`Sentinel promoted the replica ${promotedMs.toFixed(0)} ms after the kill; the store answered again after ${storeBackMs.toFixed(0)} ms`);

  // the new primary holds every node's routes and registrations and both nodes' records
  await eventually(async () => {
    const routes = new Set((await c.store.routes()).map((r) => `${r.node} ${r.filter}`));
    for (const f of ['ha/r1', 'ha/r2']) assert.ok(routes.has(`${fullName('n2')} ${f}`), `route ${f} on n2 in the new primary`);
    for (const [id, node] of clients) assert.equal(await c.store.lookupClient(id), fullName(node), `${id} registered on ${node}`);
    const nodes = (await c.store.nodes()).map((n) => n.name).sort();
    assert.deepEqual(nodes, [fullName('n1'), fullName('n2')]);
  }, 10_000, 100);
  const restoredMs = performance.now() - killedAt;
  t.diagnostic(`every route and registration in the new primary ${restoredMs.toFixed(0)} ms after the kill`);

  await sleep(2000);
  q1.stop();
  q2.stop();
  await Promise.all([q1.done, q2.done]);
  await sleep(500);
  for (const q of [q1, q2]) t.diagnostic(streamCost(q, killedAt));
  checkStream(q1);
  checkStream(q2);
  for (const q of [q1, q2]) assert.ok(q.ackedAt.some((a) => a !== undefined && a > killedAt), `QoS ${q.qos} acknowledged after the kill`);

  // a subscription made after the failover routes across nodes
  const late = await connectClient(tcpUrl(c.node('n2').mqttPort), { clientId: uid('late') }, t);
  await late.subscribe('ha/after', { qos: 1 });
  await eventually(async () => {
    await pub1.publish('ha/after', 'x', { qos: 1 });
    assert.ok(late.messages('ha/after').length > 0, 'n1 routes a new subscription of n2');
  }, 5000, 50);
  assert.equal(await c.store.lookupClient(late.clientId), fullName('n2'));
});
