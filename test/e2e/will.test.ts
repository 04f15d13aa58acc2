/**
 * Will messages end to end: published when the connection is lost (socket destroyed, keepalive
 * timeout), not after a clean DISCONNECT, and retained when the will says so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, type NodeProcess } from '../support/broker.js';
import { closeAllClients, connectClient, PresenceWatcher, RawClient, tcpUrl, uid, wsUrl } from '../support/mqtt-clients.js';

let node: NodeProcess;
let presence: PresenceWatcher;

before(async () => {
  node = await startNode({ name: 'will' });
  presence = await PresenceWatcher.start(node.mqttPort, node.nodeName);
});

after(async () => {
  await closeAllClients();
  await node?.stop();
});

/** The broker's disconnected event for `clientId` (the broker publishes it just before the will). */
const disconnectedEvent = (clientId: string) => presence.disconnected(clientId);

for (const transport of ['tcp', 'ws'] as const) {
  test(`the will is published when the client's ${transport} connection is dropped without DISCONNECT`, async (t) => {
    const base = uid('wd');
    const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-sub` }, t);
    await sub.subscribe(`${base}/will`, { qos: 2 });
    const url = transport === 'tcp' ? tcpUrl(node.mqttPort) : wsUrl(node.wsPort);
    const w = await connectClient(url, { clientId: `${base}-w`, will: { topic: `${base}/will`, payload: Buffer.from('gone'), qos: 1, retain: false } }, t);
    // nothing yet while it is connected
    await sub.barrier();
    assert.deepEqual(sub.received, []);

    w.client.stream.destroy();
    const will = await sub.waitForMessage(`${base}/will`);
    assert.deepEqual([will.payload, will.qos, will.retain], ['gone', 1, false]);
    await sub.barrier();
    assert.equal(sub.received.length, 1, 'published once');
  });
}

test('the will is published when the server closes the connection for keepalive timeout', async (t) => {
  const base = uid('wk');
  const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-sub` }, t);
  await sub.subscribe(`${base}/will`, { qos: 1 });
  // a raw client never pings by itself: keepalive 1 s, then silence
  const started = Date.now();
  const { raw, connack } = await RawClient.connect(
    node.mqttPort,
    { clientId: `${base}-w`, keepalive: 1, will: { topic: `${base}/will`, payload: Buffer.from('timed out'), qos: 1, retain: false } },
    t,
  );
  assert.equal(connack.returnCode, 0);
  // dropped after 1.5 × keepalive without a packet (checked once a second)
  await raw.waitClose(5000);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1400, `closed after ${elapsed} ms, not before 1.5 s`);
  const will = await sub.waitForMessage(`${base}/will`);
  assert.deepEqual([will.payload, will.qos, will.retain], ['timed out', 1, false]);
  assert.equal((await disconnectedEvent(`${base}-w`)).reason, 'keepalive_timeout');
});

test('a client that keeps pinging within its keepalive is not dropped and its will is not published', async (t) => {
  const base = uid('wp');
  const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-sub` }, t);
  await sub.subscribe(`${base}/will`, { qos: 1 });
  const { raw } = await RawClient.connect(node.mqttPort, { clientId: `${base}-w`, keepalive: 1, will: { topic: `${base}/will`, payload: Buffer.from('x'), qos: 1, retain: false } }, t);
  // ping every 0.5 s for 2.5 s: well past 1.5 × keepalive since connecting
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 500));
    await raw.ping();
  }
  assert.equal(raw.closed, false);
  await raw.disconnect();
  await disconnectedEvent(`${base}-w`);
  await sub.barrier();
  assert.deepEqual(sub.received, []);
});

test('no will after a clean DISCONNECT', async (t) => {
  const base = uid('wn');
  const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-sub` }, t);
  await sub.subscribe(`${base}/will`, { qos: 1 });
  const w = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-w`, will: { topic: `${base}/will`, payload: Buffer.from('should not'), qos: 1, retain: true } }, t);
  await w.end();
  assert.equal((await disconnectedEvent(`${base}-w`)).reason, 'normal');
  // the broker publishes the will right after the disconnected event, in the same step;
  // the barrier goes through the broker after that, so a will would have arrived before it
  await sub.barrier();
  assert.deepEqual(sub.received, []);
  // and nothing was retained either
  const late = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-late` }, t);
  await late.subscribe(`${base}/will`, { qos: 1 });
  await late.barrier();
  assert.deepEqual(late.received, []);
});

test('a will with retain is kept as the retained message of its topic', async (t) => {
  const base = uid('wr');
  const w = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-w`, will: { topic: `${base}/status`, payload: Buffer.from('offline'), qos: 2, retain: true } }, t);
  await w.publish(`${base}/status`, 'online', { qos: 1, retain: true });
  w.client.stream.destroy();
  await disconnectedEvent(`${base}-w`);

  // a subscriber arriving later gets the will as the retained message, flagged, at QoS 2
  const late = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-late` }, t);
  await late.subscribe(`${base}/status`, { qos: 2 });
  await late.barrier();
  assert.deepEqual(
    late.received.map((m) => [m.topic, m.payload, m.qos, m.retain]),
    [[`${base}/status`, 'offline', 2, true]],
  );
});
