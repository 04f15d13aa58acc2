/**
 * Retained messages end to end: set, replace, delete, delivery on SUBSCRIBE (retain flag set,
 * wildcards), live delivery without the flag, and the QoS they are delivered at.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, type NodeProcess } from '../support/broker.js';
import { closeAllClients, connectClient, mosquittoPub, mosquittoSub, tcpUrl, uid, wsUrl, type TestClient } from '../support/mqtt-clients.js';

let node: NodeProcess;

before(async () => {
  node = await startNode({ name: 'retained' });
});

after(async () => {
  await closeAllClients();
  await node?.stop();
});

type Scope = { after(fn: () => unknown): void };

/**
 * A fresh client subscribing to `filter`; resolves with what it has received once the
 * retained messages sent after its SUBACK have all arrived (its barrier follows them).
 */
async function subscribeFresh(t: Scope, filter: string, qos: 0 | 1 | 2 = 2, url = tcpUrl(node.mqttPort)): Promise<TestClient> {
  const c = await connectClient(url, { clientId: uid('rs') }, t);
  await c.subscribe(filter, { qos });
  await c.barrier();
  return c;
}

const summary = (c: TestClient) => c.received.map((m) => [m.topic, m.payload, m.qos, m.retain]);

test('a retained message is delivered on SUBSCRIBE with the retain flag, to each new subscriber', async (t) => {
  const base = uid('ret');
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-pub` }, t);
  await pub.publish(`${base}/a`, 'v1', { qos: 1, retain: true });
  const s1 = await subscribeFresh(t, `${base}/a`);
  assert.deepEqual(summary(s1), [[`${base}/a`, 'v1', 1, true]]);
  // it stays: a second subscriber (over WebSocket) gets it too
  const s2 = await subscribeFresh(t, `${base}/a`, 2, wsUrl(node.wsPort));
  assert.deepEqual(summary(s2), [[`${base}/a`, 'v1', 1, true]]);
  // no retained message on other topics
  const s3 = await subscribeFresh(t, `${base}/b`);
  assert.deepEqual(summary(s3), []);
});

test('a retained message replaces the previous one; an empty payload deletes it', async (t) => {
  const base = uid('rep');
  const topic = `${base}/x`;
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-pub` }, t);
  await pub.publish(topic, 'v1', { qos: 1, retain: true });
  await pub.publish(topic, 'v2', { qos: 1, retain: true });
  assert.deepEqual(summary(await subscribeFresh(t, topic)), [[topic, 'v2', 1, true]]);

  // a non-retained publish leaves the retained message as it is
  await pub.publish(topic, 'live', { qos: 1, retain: false });
  assert.deepEqual(summary(await subscribeFresh(t, topic)), [[topic, 'v2', 1, true]]);

  // an existing subscriber sees the delete like any publish [MQTT-3.3.1-10]
  const live = await subscribeFresh(t, topic);
  const from = live.mark();
  await pub.publish(topic, '', { qos: 1, retain: true });
  const del = await live.waitForMessage(topic, { from });
  assert.deepEqual([del.payload, del.retain], ['', false]);
  assert.deepEqual(summary(await subscribeFresh(t, topic)), []);

  // and a new one can be set after the delete
  await pub.publish(topic, 'v3', { qos: 0, retain: true });
  await pub.barrier(); // QoS 0: make sure the broker has it before the next subscriber comes
  assert.deepEqual(summary(await subscribeFresh(t, topic)), [[topic, 'v3', 0, true]]);
});

test('retained messages matched by wildcard filters, each with the retain flag', async (t) => {
  const base = uid('rw');
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-pub` }, t);
  const topics = [`${base}`, `${base}/a`, `${base}/b/c`, `${base}/b/d`, `${base}x/a`];
  for (const tp of topics) await pub.publish(tp, `r:${tp}`, { qos: 1, retain: true });

  const sorted = (c: TestClient) => summary(c).sort((x, y) => String(x[0]).localeCompare(String(y[0])));
  assert.deepEqual(sorted(await subscribeFresh(t, `${base}/#`, 1)), [
    [`${base}`, `r:${base}`, 1, true],
    [`${base}/a`, `r:${base}/a`, 1, true],
    [`${base}/b/c`, `r:${base}/b/c`, 1, true],
    [`${base}/b/d`, `r:${base}/b/d`, 1, true],
  ]);
  assert.deepEqual(sorted(await subscribeFresh(t, `${base}/b/+`, 1)), [
    [`${base}/b/c`, `r:${base}/b/c`, 1, true],
    [`${base}/b/d`, `r:${base}/b/d`, 1, true],
  ]);
  assert.deepEqual(sorted(await subscribeFresh(t, `${base}/+`, 1)), [[`${base}/a`, `r:${base}/a`, 1, true]]);
  // '#' alone gets them all (and other tests' retained topics, but never a $SYS one)
  const everything = await subscribeFresh(t, '#', 1);
  for (const tp of topics) assert.equal(everything.messages(tp).length, 1, tp);
  assert.ok(everything.received.every((m) => m.retain && !m.topic.startsWith('$')));
});

test('live delivery of a retained publish to an existing subscriber has no retain flag (MQTT 3.1.1)', async (t) => {
  const base = uid('rl');
  const sub = await subscribeFresh(t, `${base}/x`);
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-pub` }, t);
  for (const qos of [0, 1, 2] as const) await pub.publish(`${base}/x`, `q${qos}`, { qos, retain: true });
  await sub.waitForMessages(3);
  await pub.barrier();
  await sub.barrier();
  assert.deepEqual(summary(sub), [
    [`${base}/x`, 'q0', 0, false],
    [`${base}/x`, 'q1', 1, false],
    [`${base}/x`, 'q2', 2, false],
  ]);
  // while a new subscriber gets the last one, flagged
  assert.deepEqual(summary(await subscribeFresh(t, `${base}/x`)), [[`${base}/x`, 'q2', 2, true]]);
});

test('retained messages are delivered at min(message QoS, subscription QoS)', async (t) => {
  const base = uid('rq');
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-pub` }, t);
  for (const q of [0, 1, 2] as const) await pub.publish(`${base}/m${q}`, `m${q}`, { qos: q, retain: true });
  await pub.barrier();
  for (const s of [0, 1, 2] as const) {
    const c = await subscribeFresh(t, `${base}/+`, s);
    const got = summary(c).sort((x, y) => String(x[1]).localeCompare(String(y[1])));
    assert.deepEqual(
      got,
      [0, 1, 2].map((q) => [`${base}/m${q}`, `m${q}`, Math.min(q, s), true]),
      `subscription QoS ${s}`,
    );
  }
});

test('mosquitto_pub -r sets a retained message that mosquitto_sub and MQTT.js receive flagged', async (t) => {
  const base = uid('rmq');
  await mosquittoPub(node.mqttPort, ['-t', `${base}/x`, '-m', 'from mosquitto', '-q', '1', '-r']);
  const msub = await mosquittoSub(node.mqttPort, ['-t', `${base}/#`, '-q', '1', '-C', '1'], t);
  assert.deepEqual(await msub.waitForMessages(1), [{ topic: `${base}/x`, qos: 1, retain: true, payload: 'from mosquitto' }]);
  assert.deepEqual(summary(await subscribeFresh(t, `${base}/x`)), [[`${base}/x`, 'from mosquitto', 1, true]]);
  // mosquitto_pub -r -n deletes it
  await mosquittoPub(node.mqttPort, ['-t', `${base}/x`, '-n', '-r', '-q', '1']);
  assert.deepEqual(summary(await subscribeFresh(t, `${base}/x`)), []);
});
