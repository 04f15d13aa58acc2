/**
 * A clientid live on two nodes because Redis (or NATS) was away when it connected the
 * second time, so no takeover could happen: once the service is back, the newer connection
 * stays, the older is taken over (MQTT 5 DISCONNECT 0x8E Session taken over), the registry
 * points to the node kept and `GET /api/v4/clients/<id>` answers one row (a real two-node
 * cluster and gateway).
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { eventually, fullName, sleep } from '../support/cluster.js';
import { api } from '../support/gateway.js';
import { useGatewayCluster } from '../support/gateway-cluster.js';
import { connectClient, tcpUrl, uid, type Scope, type TestClient } from '../support/mqtt-clients.js';
import type { Service } from '../support/services.js';

const SESSION_TAKEN_OVER = 0x8e;
const g = useGatewayCluster(() => ({}), ['n1', 'n2']);

describe('a clientid connected on two nodes during an outage', () => {
  const connect = (t: Scope, node: string, clientId: string): Promise<TestClient> =>
    connectClient(tcpUrl(g.c.node(node).mqttPort), { clientId, label: `${clientId}@${node}`, protocolVersion: 5 }, t);

  /** Connects `id` on n1 then (later, so newer) on n2 while `service` is down, then brings it back. */
  async function splitDuring(t: Scope, service: Service, id: string): Promise<{ older: TestClient; newer: TestClient }> {
    await service.stop();
    const older = await connect(t, 'n1', id);
    await sleep(20); // a later connection time on n2
    const newer = await connect(t, 'n2', id);
    assert.ok(!older.closed && !newer.closed, 'both connected while the service is away');
    await service.start();
    return { older, newer };
  }

  async function settled(t: TestContext, older: TestClient, newer: TestClient, id: string): Promise<void> {
    await eventually(() => assert.ok(older.closed, 'the older connection is closed'), 10_000);
    assert.deepEqual(
      older.disconnects.map((d) => d.reasonCode),
      [SESSION_TAKEN_OVER],
      'the older connection is told its session was taken over',
    );
    await eventually(async () => assert.equal(await g.c.store.lookupClient(id), fullName('n2'), 'the registry points to the node kept'), 5000);
    await eventually(async () => {
      const r = await api(g.base, 'GET', `/api/v4/clients/${encodeURIComponent(id)}`);
      assert.equal(r.status, 200);
      assert.deepEqual(
        (r.body.data as { node: string; connected: boolean }[]).map((row) => `${row.node} ${row.connected}`),
        [`${fullName('n2')} true`],
        'one row, on the node kept',
      );
    }, 5000);
    await sleep(200); // nothing else comes to close the one kept
    assert.ok(!newer.closed, 'the newer connection stays');
    t.diagnostic(`kept on n2; n1's connection closed with 0x${SESSION_TAKEN_OVER.toString(16)}`);
  }

  test('Redis down: settled when it is back', async (t) => {
    const id = uid('split-redis');
    const { older, newer } = await splitDuring(t, g.c.redis, id);
    await settled(t, older, newer, id);
  });

  test('NATS down: settled when it is back', async (t) => {
    const id = uid('split-nats');
    const { older, newer } = await splitDuring(t, g.c.nats, id);
    await settled(t, older, newer, id);
  });
});
