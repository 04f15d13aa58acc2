/**
 * emqx_mod_subscription with real MQTT 3.1.1 and 5 clients on a standalone node: subscribed
 * on connect with %c/%u, retained messages delivered, the API shows the subscriptions.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Feature } from '../../node/features/feature.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';
import { startStandalone, type Standalone } from '../support/standalone.js';

const TOPICS = [
  { topic: 'client/%c', qos: 1 },
  { topic: 'user/%u', qos: 2, nl: 1, rap: 1, rh: 0 },
];

let node: Standalone;
let auto: Feature;

before(async () => {
  node = await startStandalone({ STARLING_AUTO_SUBSCRIBE: JSON.stringify(TOPICS) });
  // the node's own module, loaded at start because its configuration is set
  auto = node.broker.features.find('module', 'emqx_mod_subscription')!.switches.feature;
  assert.equal(auto.active, true);
});

after(async () => {
  await closeAllClients();
  await node?.stop();
});

const subs = async (id: string) => (await node.api(`/api/v4/subscriptions/${id}`)).body.data.map((s: { topic: string; qos: number }) => [s.topic, s.qos]).sort();

for (const protocolVersion of [4, 5] as const) {
  test(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5'}: a client is subscribed on connect to client/%c and user/%u, retained delivered`, async (t) => {
    const id = uid(`as${protocolVersion}`);
    const user = `u-${id}`;
    const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('as-pub') }, t);
    await pub.publish(`client/${id}`, 'kept', { qos: 1, retain: true });
    const c = await connectClient(tcpUrl(node.mqttPort), { clientId: id, username: user, protocolVersion }, t);
    const r = await c.waitForMessage(`client/${id}`);
    assert.deepEqual([r.payload, r.retain], ['kept', true]);
    await pub.publish(`client/${id}`, 'to-client', { qos: 1 });
    await pub.publish(`user/${user}`, 'to-user', { qos: 2 });
    await c.waitForMessage((m) => m.payload === 'to-client');
    const u = await c.waitForMessage((m) => m.payload === 'to-user');
    assert.equal(u.qos, 2);
    assert.deepEqual(await subs(id), [[`client/${id}`, 1], [`user/${user}`, 2]]);
    // MQTT 5 keeps nl: its own publish to user/<u> does not come back; MQTT 3.1.1 has no such option
    await c.publish(`user/${user}`, 'own', { qos: 1 });
    await c.barrier();
    assert.equal(c.messages((m) => m.payload === 'own').length, protocolVersion === 5 ? 0 : 1);
  });
}

test('a topic with %u is skipped for a client without username', async (t) => {
  const id = uid('as-anon');
  await connectClient(tcpUrl(node.mqttPort), { clientId: id }, t);
  assert.deepEqual(await subs(id), [[`client/${id}`, 1]]);
});

test('unloaded: nobody is subscribed on connect', async (t) => {
  await auto.unload();
  t.after(() => auto.load());
  const id = uid('as-off');
  await connectClient(tcpUrl(node.mqttPort), { clientId: id, username: 'u' }, t);
  assert.deepEqual(await subs(id), []);
});
