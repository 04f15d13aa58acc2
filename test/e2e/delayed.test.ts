/**
 * EMQX's delayed publish: `$delayed/<seconds>/<topic>` reaches `<topic>` after the delay,
 * never before; a malformed delayed topic is dropped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, type NodeProcess } from '../support/broker.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';

let node: NodeProcess;

before(async () => {
  node = await startNode({ name: 'delayed' });
});

after(async () => {
  await closeAllClients();
  await node?.stop();
});

test('a $delayed/1/<topic> message arrives on <topic> after about a second, not at once', async (t) => {
  const topic = uid('delayed');
  const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('ds') }, t);
  await sub.subscribe(topic, { qos: 1 });
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('dp') }, t);
  const sentAt = Date.now();
  await pub.publish(`$delayed/1/${topic}`, 'later', { qos: 1 });
  // a round trip through the broker after the publish: an undelayed copy would be here by now
  await sub.barrier();
  assert.equal(sub.messages(topic).length, 0);
  const [m] = await sub.waitForMessages(1, { filter: topic, timeoutMs: 5000 });
  assert.equal(m!.payload, 'later');
  assert.ok(Date.now() - sentAt >= 950, `arrived after ${Date.now() - sentAt} ms`);
});

test('a malformed delayed topic is not delivered anywhere', async (t) => {
  const base = uid('baddelay');
  const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('ds') }, t);
  await sub.subscribe('$delayed/#', { qos: 1 });
  await sub.subscribe(`${base}/#`, { qos: 1 });
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('dp') }, t);
  await pub.publish(`$delayed/soon/${base}/x`, 'x', { qos: 1 });
  await sub.barrier();
  assert.deepEqual(sub.received.map((m) => m.topic), []);
});
