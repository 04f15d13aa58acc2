// Gateways are stateless: two of them side by side over one cluster share nothing but Redis
// and NATS, so what one writes (an app, a ban) the other serves at once, and both see every node.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { api, ok, startGateway, type GatewayProcess } from '../support/gateway.js';

let c: TestCluster;
let a: GatewayProcess;
let b: GatewayProcess;

before(async () => {
  c = await startCluster(['n1', 'n2']);
  [a, b] = await Promise.all([startGateway(c), startGateway(c)]);
});

after(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await c?.stop();
});

it('both gateways list every node', async () => {
  for (const gw of [a, b]) {
    const r = await api(gw.url, 'GET', '/api/v4/nodes');
    ok(r);
    assert.deepEqual(r.body.data.map((n: { node: string }) => n.node), ['n1@127.0.0.1', 'n2@127.0.0.1']);
  }
});

it('an app created through one gateway authenticates on the other', async () => {
  const created = await api(a.url, 'POST', '/api/v4/apps', { body: { app_id: 'side', name: 'side by side', secret: 's3cret', desc: '', status: true } });
  assert.equal(created.body.code, 0, JSON.stringify(created.body));
  await eventually(async () => assert.equal((await api(b.url, 'GET', '/api/v4/brokers', { auth: 'side:s3cret' })).status, 200), 2000);
});

it('a ban added through one gateway is listed by the other', async () => {
  const who = `both-${Date.now()}`;
  ok(await api(a.url, 'POST', '/api/v4/banned', { body: { who, as: 'clientid', reason: 'test' } }), ['code', 'data']);
  await eventually(async () => {
    const r = await api(b.url, 'GET', '/api/v4/banned');
    assert.ok(r.body.data.some((e: { who: string }) => e.who === who), 'listed by the other gateway');
  }, 2000);
});
