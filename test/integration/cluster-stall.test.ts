/**
 * A real two-node cluster in which n1 stalls (SIGSTOP) for longer than the heartbeat TTL, as
 * a node's event loop does on a loaded host: n2 takes it for dead and purges its routes and
 * registrations. Once n1 runs again it writes them back and n2 reads its routes again, so
 * its subscriber gets what is published on n2 (it got nothing from n2 again before).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, fullName, HEARTBEAT_TTL_MS, startCluster, type TestCluster } from '../support/cluster.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';
import { suspendProcess } from '../support/processes.js';

let c: TestCluster;
let stopped = false;

before(async () => {
  c = await startCluster(['n1', 'n2']);
});

after(async () => {
  if (stopped && c?.node('n1').proc.alive) process.kill(c.node('n1').proc.pid, 'SIGCONT');
  await closeAllClients();
  await c?.stop();
});

const n1Routes = async (): Promise<string[]> => (await c.store.routes()).filter((r) => r.node === fullName('n1')).map((r) => r.filter);

test('a node stalled past the heartbeat TTL and purged as dead gets its routes and registrations back, and messages from the other node again', async (t) => {
  const id = uid('stall');
  const topic = `${id}/t`;
  const sub = await connectClient(tcpUrl(c.node('n1').mqttPort), { clientId: id, clean: false, keepalive: 0 }, t);
  await sub.subscribe(topic, { qos: 1 });
  const pub = await connectClient(tcpUrl(c.node('n2').mqttPort), { clientId: uid('pub') }, t);
  let k = 0;
  /** publishes on n2 until the subscriber on n1 has one: n2 routes the topic to n1 */
  const reaches = async (timeoutMs: number): Promise<void> => {
    await eventually(async () => {
      const p = `m${k++}`;
      await pub.publish(topic, p, { qos: 1 });
      await sub.waitForMessage((m) => m.payload === p, { timeoutMs: 200 });
    }, timeoutMs);
  };
  await reaches(5000);
  assert.equal(await c.store.lookupClient(id), fullName('n1'));

  const n1 = c.node('n1');
  stopped = true;
  await suspendProcess(n1.proc.pid);
  try {
    // n2 finds n1's heartbeat stale and purges it: its route and registration leave the store
    await eventually(async () => {
      assert.deepEqual(await n1Routes(), []);
      assert.equal(await c.store.lookupClient(id), undefined);
    }, 10 * HEARTBEAT_TTL_MS);
  } finally {
    process.kill(n1.proc.pid, 'SIGCONT');
    stopped = false;
  }

  await eventually(async () => {
    assert.deepEqual(await n1Routes(), [topic], "n1's route is back in the store");
    assert.equal(await c.store.lookupClient(id), fullName('n1'), "n1's registration is back");
  }, 10 * HEARTBEAT_TTL_MS);
  await reaches(5000);
});
