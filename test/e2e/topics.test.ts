/**
 * Topic names and filters end to end: `+` and `#` wildcards, `$`-topics and wildcards,
 * invalid names and filters, overlapping subscriptions.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, type NodeProcess } from '../support/broker.js';
import { closeAllClients, connectClient, PresenceWatcher, RawClient, tcpUrl, uid } from '../support/mqtt-clients.js';
import type { ISubackPacket } from 'mqtt-packet';

let node: NodeProcess;

before(async () => {
  node = await startNode({ name: 'topics' });
});

after(async () => {
  await closeAllClients();
  await node?.stop();
});

/** Publishes each topic (QoS 1, payload = topic) and returns the topics `filter` received, in order. */
async function matched(t: { after(fn: () => unknown): void }, filter: (base: string) => string, topics: (base: string) => string[]): Promise<{ base: string; got: string[] }> {
  const base = uid('tp');
  const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-sub` }, t);
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-pub` }, t);
  await sub.subscribe(filter(base), { qos: 1 });
  for (const topic of topics(base)) await pub.publish(topic, topic, { qos: 1 });
  // every PUBACK is in, so every delivery was queued to sub before its barrier message
  await sub.barrier();
  for (const m of sub.received) assert.equal(m.payload, m.topic);
  return { base, got: sub.received.map((m) => m.topic) };
}

test('+ matches exactly one level, including an empty one', async (t) => {
  const { base, got } = await matched(
    t,
    (b) => `${b}/+/x`,
    (b) => [`${b}/a/x`, `${b}/a/b/x`, `${b}/x`, `${b}//x`, `${b}/b/x`, `${b}/a/x/y`, `${b}/a/y`],
  );
  assert.deepEqual(got, [`${base}/a/x`, `${base}//x`, `${base}/b/x`]);
});

test('+ at the end and alone', async (t) => {
  const end = await matched(
    t,
    (b) => `${b}/+`,
    (b) => [`${b}/a`, `${b}`, `${b}/a/b`, `${b}/`],
  );
  assert.deepEqual(end.got, [`${end.base}/a`, `${end.base}/`]);
  const two = await matched(
    t,
    (b) => `${b}/+/+`,
    (b) => [`${b}/a`, `${b}/a/b`, `${b}/a/b/c`],
  );
  assert.deepEqual(two.got, [`${two.base}/a/b`]);
});

test('# matches the parent level and every level below, not a sibling with the same prefix', async (t) => {
  const { base, got } = await matched(
    t,
    (b) => `${b}/a/#`,
    (b) => [`${b}/a`, `${b}/a/b`, `${b}/a/b/c`, `${b}/a/`, `${b}/ab`, `${b}/b/a`, `${b}`],
  );
  assert.deepEqual(got, [`${base}/a`, `${base}/a/b`, `${base}/a/b/c`, `${base}/a/`]);
});

test('+ and # together', async (t) => {
  const { base, got } = await matched(
    t,
    (b) => `${b}/+/x/#`,
    (b) => [`${b}/a/x`, `${b}/a/x/y/z`, `${b}/a/y/x`, `${b}/x`],
  );
  assert.deepEqual(got, [`${base}/a/x`, `${base}/a/x/y/z`]);
});

test('$-topics: not matched by # or +/..., matched by $SYS/# and filters starting with $', async (t) => {
  const base = uid('dollar');
  const all = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-all` }, t);
  const plus = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-plus` }, t);
  const sys = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-sys` }, t);
  const dollar = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-dollar` }, t);
  await all.subscribe('#', { qos: 1 });
  await plus.subscribe(['+/brokers/#', `+/${base}`], { qos: 1 });
  await sys.subscribe('$SYS/#', { qos: 1 });
  await dollar.subscribe(`$test/+`, { qos: 1 });

  // $SYS/#: the broker's retained $SYS topics come at once, with the retain flag
  const version = await sys.waitForMessage(`$SYS/brokers/${node.nodeName}/version`);
  assert.equal(version.retain, true);

  // a new client makes the broker publish $SYS/brokers/<node>/clients/<id>/connected
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-pub` }, t);
  const connected = await sys.waitForMessage(`$SYS/brokers/${node.nodeName}/clients/${base}-pub/connected`);
  assert.equal(JSON.parse(connected.payload).clientid, `${base}-pub`);

  // a client may publish to a $-topic; only filters starting with $ match it
  await pub.publish(`$test/${base}`, 'dollar', { qos: 1 });
  await pub.publish(`plain/${base}`, 'plain', { qos: 1 });
  assert.deepEqual(
    (await dollar.waitForMessage(`$test/${base}`)).payload,
    'dollar',
  );
  await Promise.all([all.barrier(), plus.barrier(), sys.barrier(), dollar.barrier()]);

  // '#' got the plain message (so it was working) and no $-topic at all: not the retained
  // $SYS messages at SUBSCRIBE, not the presence events, not the client's $test publish
  assert.ok(all.messages(`plain/${base}`).length === 1, 'the # subscriber got the plain message');
  assert.deepEqual(
    all.received.filter((m) => m.topic.startsWith('$')).map((m) => m.topic),
    [],
  );
  assert.deepEqual(
    plus.received.map((m) => m.topic),
    [`plain/${base}`],
  );
  assert.deepEqual(
    dollar.received.map((m) => m.topic),
    [`$test/${base}`],
  );
  assert.ok(sys.received.every((m) => m.topic.startsWith('$SYS/')));
});

test('PUBLISH to a topic name with a wildcard closes the connection and is not delivered', async (t) => {
  const base = uid('badpub');
  const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-sub` }, t);
  await sub.subscribe(`${base}/#`, { qos: 0 });
  const presence = await PresenceWatcher.start(node.mqttPort, node.nodeName);
  t.after(() => presence.client.destroy());
  for (const bad of [`${base}/+`, `${base}/#`, `${base}/a+b`]) {
    const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-pub` }, t);
    const from = presence.mark();
    // MQTT.js does not check topic names on publish, so this reaches the broker as is
    pub.client.publish(bad, 'x', { qos: 0 });
    await pub.waitClose();
    // closed by the broker, for this reason (not by the client)
    assert.equal((await presence.disconnected(`${base}-pub`, { from })).reason, 'protocol_error', bad);
    assert.deepEqual(pub.errors, []);
  }
  // raw, at QoS 1: no PUBACK, the connection just closes [MQTT-3.3.2-2]
  const { raw } = await RawClient.connect(node.mqttPort, { clientId: `${base}-raw` }, t);
  raw.send({ cmd: 'publish', topic: `${base}/+/x`, payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
  await raw.waitClose();
  assert.deepEqual(raw.unread(), [], 'nothing (no PUBACK) before the close');
  await sub.barrier();
  assert.deepEqual(sub.received, []);
});

test('SUBSCRIBE with invalid filters: 0x80 for each of them in SUBACK, the rest granted, connection stays', async (t) => {
  const base = uid('badsub');
  const { raw } = await RawClient.connect(node.mqttPort, { clientId: `${base}-raw` }, t);
  raw.send({
    cmd: 'subscribe',
    messageId: 7,
    subscriptions: [
      { topic: `${base}/#/b`, qos: 1 },
      { topic: `${base}/ok`, qos: 1 },
      { topic: `${base}/a+`, qos: 0 },
      { topic: `${base}/#x`, qos: 2 },
      { topic: `${base}/+/ok`, qos: 2 },
    ],
  });
  const suback = (await raw.next('suback')) as ISubackPacket;
  assert.equal(suback.messageId, 7);
  assert.deepEqual(suback.granted, [0x80, 1, 0x80, 0x80, 2]);

  // the valid ones work and the connection is still up
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-pub` }, t);
  await pub.publish(`${base}/ok`, 'ok', { qos: 0 });
  const p = await raw.next('publish');
  assert.equal(p.cmd === 'publish' && p.topic, `${base}/ok`);
  assert.equal(raw.closed, false);
  await raw.disconnect();
});

test('overlapping subscriptions of one client: one delivery per matching subscription, each at its QoS', async (t) => {
  // EMQX 4 keeps no per-client deduplication: every matching subscription delivers a copy
  const base = uid('ov');
  const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-sub` }, t);
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-pub` }, t);
  await sub.subscribe({ [`${base}/#`]: { qos: 0 }, [`${base}/+/x`]: { qos: 1 }, [`${base}/a/x`]: { qos: 2 } });
  await pub.publish(`${base}/a/x`, 'ax', { qos: 2 });
  await pub.publish(`${base}/b/x`, 'bx', { qos: 2 });
  await pub.publish(`${base}/a/y`, 'ay', { qos: 2 });
  await sub.barrier();
  const byPayload = (p: string) =>
    sub.received
      .filter((m) => m.payload === p)
      .map((m) => m.qos)
      .sort();
  assert.deepEqual(byPayload('ax'), [0, 1, 2]);
  assert.deepEqual(byPayload('bx'), [0, 1]);
  assert.deepEqual(byPayload('ay'), [0]);
  assert.equal(sub.received.length, 6);

  // after unsubscribing one of them, one copy fewer
  await sub.unsubscribe(`${base}/+/x`);
  const from = sub.mark();
  await pub.publish(`${base}/a/x`, 'ax2', { qos: 2 });
  await sub.barrier();
  assert.deepEqual(
    sub.received
      .slice(from)
      .map((m) => [m.payload, m.qos])
      .sort(),
    [
      ['ax2', 0],
      ['ax2', 2],
    ],
  );
});

test('overlapping subscriptions of different clients: each client gets its copy', async (t) => {
  const base = uid('ov2');
  const a = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-a` }, t);
  const b = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-b` }, t);
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-pub` }, t);
  await a.subscribe(`${base}/#`, { qos: 1 });
  await b.subscribe(`${base}/x/+`, { qos: 2 });
  await pub.publish(`${base}/x/y`, 'both', { qos: 2 });
  await pub.publish(`${base}/z`, 'only-a', { qos: 2 });
  await Promise.all([a.barrier(), b.barrier()]);
  assert.deepEqual(
    a.received.map((m) => [m.topic, m.payload, m.qos]),
    [
      [`${base}/x/y`, 'both', 1],
      [`${base}/z`, 'only-a', 1],
    ],
  );
  assert.deepEqual(
    b.received.map((m) => [m.topic, m.payload, m.qos]),
    [[`${base}/x/y`, 'both', 2]],
  );
});
