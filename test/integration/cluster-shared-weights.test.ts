/**
 * Shared groups weigh members, not nodes: with one member of `$share/g/<topic>` on n1 and
 * three on n2, every member gets about a quarter of the messages, whichever node publishes,
 * under each dispatch strategy (a real two-node cluster per strategy); the counts are written
 * again after Redis restarts empty.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { eventually, fullName, sleep, startCluster, type TestCluster } from '../support/cluster.js';
import { closeAllClients, connectClient, tcpUrl, uid, type Received, type Scope, type TestClient } from '../support/mqtt-clients.js';

after(() => closeAllClients());

const MESSAGES = 400;
const notProbe = (m: Received): boolean => !m.payload.startsWith('probe-');

for (const strategy of ['random', 'round_robin'] as const) {
  describe(`STARLING_SHARED_DISPATCH_STRATEGY=${strategy}`, () => {
    let c: TestCluster | undefined;
    after(() => c?.stop());

    test('1 member on n1, 3 on n2, 400 messages: each member gets about a quarter', async (t) => {
      c = await startCluster(['n1', 'n2'], { STARLING_SHARED_DISPATCH_STRATEGY: strategy });
      const client = (s: Scope, node: string, label: string): Promise<TestClient> =>
        connectClient(tcpUrl(c!.node(node).mqttPort), { clientId: uid(label), label }, s);
      const topic = `${uid('w')}/jobs`;
      const share = `$share/g/${topic}`;
      const members: TestClient[] = [];
      for (const [i, node] of ['n1', 'n2', 'n2', 'n2'].entries()) {
        const m = await client(t, node, `m${i}@${node}`);
        await m.subscribe(share, { qos: 1 });
        members.push(m);
      }
      const storedCount = async (): Promise<void> => {
        const rows = await c!.store.routes();
        const n2 = rows.find((r) => r.node === fullName('n2') && r.filter === share);
        assert.equal(n2?.members, 3, 'n2 has 3 members of the group in the store');
      };
      await eventually(storedCount, 3000);
      // subscribed last: once its route has reached n1, so has n2's member count (one ordered channel)
      const plain = await client(t, 'n2', 'plain');
      await plain.subscribe(topic, { qos: 1 });
      const pubs = [await client(t, 'n1', 'pub-n1'), await client(t, 'n2', 'pub-n2')];
      for (let k = 0; plain.messages((m) => m.payload === `probe-${k - 1}`).length === 0; k++) {
        await pubs[0]!.publish(topic, `probe-${k}`, { qos: 1 });
        await sleep(10);
      }
      const probes = members.map((m) => m.messages((x) => !notProbe(x)).length);

      for (let i = 0; i < MESSAGES; i++) await pubs[i % 2]!.publish(topic, `m${i}`, { qos: 1 });
      const got = (): number[] => members.map((m) => m.messages(notProbe).length);
      await eventually(() => assert.equal(got().reduce((a, b) => a + b, 0), MESSAGES, 'every message once across the group'), 5000);
      t.diagnostic(`per member (n1, n2, n2, n2): ${got().join(' ')} (probes ${probes.join(' ')})`);
      for (const [i, n] of got().entries()) {
        assert.ok(n >= 0.15 * MESSAGES && n <= 0.35 * MESSAGES, `member ${i} got ${n} of ${MESSAGES} (${got().join(' ')})`);
      }
      // a Redis that restarts empty gets the counts again with the routes
      await c.redis.restart();
      await eventually(storedCount, 10_000);
    });
  });
}
