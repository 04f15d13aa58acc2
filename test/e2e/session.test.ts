/**
 * Sessions end to end (MQTT 3.1.1): persistent sessions and what is queued for them while
 * offline, clean sessions, the queue limit, takeover by a second connection with the same
 * clientid, and resending unacknowledged messages with DUP on reconnect.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IConnackPacket, IPublishPacket, IPubrelPacket, ISubackPacket } from 'mqtt-packet';
import { startNode, type NodeProcess } from '../support/broker.js';
import { closeAllClients, connectClient, PresenceWatcher, RawClient, tcpUrl, uid, wsUrl, type TestClient } from '../support/mqtt-clients.js';

type Scope = { after(fn: () => unknown): void };

let node: NodeProcess;
let presence: PresenceWatcher;
/** a second node whose sessions queue at most 5 messages */
let small: NodeProcess;
let smallPresence: PresenceWatcher;

before(async () => {
  [node, small] = await Promise.all([startNode({ name: 'session' }), startNode({ name: 'session-mqueue5', env: { STARLING_MAX_MQUEUE: '5' } })]);
  [presence, smallPresence] = await Promise.all([PresenceWatcher.start(node.mqttPort, node.nodeName), PresenceWatcher.start(small.mqttPort, small.nodeName)]);
});

after(async () => {
  await closeAllClients();
  await Promise.all([node?.stop(), small?.stop()]);
});

/** Clean close (DISCONNECT), resolved once the broker has handled it. */
async function endAndWait(c: TestClient, watcher = presence): Promise<void> {
  const from = watcher.mark();
  await c.end();
  await watcher.disconnected(c.clientId, { from });
}

test('persistent session: QoS 0, 1 and 2 messages published while offline arrive once on reconnect, session present', async (t) => {
  const id = uid('ps');
  const topic = `${id}/t`;
  const first = await connectClient(tcpUrl(node.mqttPort), { clientId: id, clean: false }, t);
  assert.equal(first.connack!.sessionPresent, false, 'a new session');
  await first.subscribe(topic, { qos: 2 });
  await endAndWait(first);

  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${id}-pub` }, t);
  await pub.publish(topic, 'offline-q0', { qos: 0 });
  await pub.publish(topic, 'offline-q1', { qos: 1 });
  await pub.publish(topic, 'offline-q2', { qos: 2 });
  await pub.barrier(); // the QoS 0 one is queued too

  const back = await connectClient(tcpUrl(node.mqttPort), { clientId: id, clean: false }, t);
  assert.equal(back.connack!.sessionPresent, true);
  await back.waitForMessages(3);
  await back.barrier();
  assert.deepEqual(
    back.received.map((m) => [m.topic, m.payload, m.qos, m.dup]),
    [
      [topic, 'offline-q0', 0, false],
      [topic, 'offline-q1', 1, false],
      [topic, 'offline-q2', 2, false],
    ],
  );

  // the subscription is still there for live messages
  await pub.publish(topic, 'live', { qos: 1 });
  assert.equal((await back.waitForMessage((m) => m.payload === 'live')).qos, 1);

  // everything was acknowledged: a further reconnect gets nothing again
  await endAndWait(back);
  const again = await connectClient(wsUrl(node.wsPort), { clientId: id, clean: false }, t);
  assert.equal(again.connack!.sessionPresent, true, 'resumed over WebSocket too');
  await again.barrier();
  assert.deepEqual(again.received, []);
  await again.end();
});

test('clean session: nothing is kept across connections', async (t) => {
  const id = uid('cs');
  const topic = `${id}/t`;
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${id}-pub` }, t);

  const persistent = await connectClient(tcpUrl(node.mqttPort), { clientId: id, clean: false }, t);
  await persistent.subscribe(topic, { qos: 1 });
  await endAndWait(persistent);
  await pub.publish(topic, 'queued-for-old-session', { qos: 1 });

  // clean: true discards the stored session with its subscription and queued message
  const clean = await connectClient(tcpUrl(node.mqttPort), { clientId: id, clean: true }, t);
  assert.equal(clean.connack!.sessionPresent, false);
  await pub.publish(topic, 'after-discard', { qos: 1 });
  await clean.barrier();
  assert.deepEqual(clean.received, []);

  // a clean session subscribes, goes away, and is gone
  await clean.subscribe(topic, { qos: 1 });
  await endAndWait(clean);
  await pub.publish(topic, 'while-clean-offline', { qos: 1 });
  const later = await connectClient(tcpUrl(node.mqttPort), { clientId: id, clean: false }, t);
  assert.equal(later.connack!.sessionPresent, false, 'the clean session ended with its connection');
  await later.barrier();
  assert.deepEqual(later.received, []);
});

test('max_mqueue 5: of 10 messages queued while offline only the newest 5 arrive', async (t) => {
  const id = uid('mq');
  const topic = `${id}/t`;
  const c = await connectClient(tcpUrl(small.mqttPort), { clientId: id, clean: false }, t);
  await c.subscribe(topic, { qos: 1 });
  await endAndWait(c, smallPresence);
  const pub = await connectClient(tcpUrl(small.mqttPort), { clientId: `${id}-pub` }, t);
  for (let i = 0; i < 10; i++) await pub.publish(topic, `m${i}`, { qos: 1 });

  const back = await connectClient(tcpUrl(small.mqttPort), { clientId: id, clean: false }, t);
  assert.equal(back.connack!.sessionPresent, true);
  await back.waitForMessages(5);
  await back.barrier();
  assert.deepEqual(
    back.received.map((m) => m.payload),
    ['m5', 'm6', 'm7', 'm8', 'm9'],
  );
});

test('takeover: a second connection with the same clientid closes the first and keeps the session', async (t) => {
  const id = uid('tk');
  const topic = `${id}/t`;
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${id}-pub` }, t);
  const first = await connectClient(tcpUrl(node.mqttPort), { clientId: id, clean: false }, t);
  await first.subscribe(topic, { qos: 1 });

  const from = presence.mark();
  const second = await connectClient(wsUrl(node.wsPort), { clientId: id, clean: false }, t);
  assert.equal(second.connack!.sessionPresent, true, 'the session (with its subscription) continues');
  await first.waitClose();
  assert.equal((await presence.disconnected(id, { from })).reason, 'takeovered');
  assert.equal((await presence.connected(id, { from })).clientid, id);

  await pub.publish(topic, 'to-second', { qos: 1 });
  const m = await second.waitForMessage(topic);
  assert.deepEqual([m.payload, m.qos], ['to-second', 1]);
  await second.barrier();
  assert.equal(second.received.length, 1);
  assert.deepEqual(first.received, []);

  // takeover with clean: true: the old connection closes and the session starts afresh
  const third = await connectClient(tcpUrl(node.mqttPort), { clientId: id, clean: true }, t);
  assert.equal(third.connack!.sessionPresent, false);
  await second.waitClose();
  await pub.publish(topic, 'nobody', { qos: 1 });
  await third.barrier();
  assert.deepEqual(third.received, []);
});

/** A raw persistent-session client with one QoS `qos` subscription. */
async function rawSubscriber(t: Scope, id: string, topic: string, qos: 1 | 2): Promise<RawClient> {
  const { raw, connack } = await RawClient.connect(node.mqttPort, { clientId: id, clean: false }, t);
  assert.equal(connack.returnCode, 0);
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
  assert.deepEqual(((await raw.next('suback')) as ISubackPacket).granted, [qos]);
  return raw;
}

/** Disconnects (DISCONNECT), waits for the broker to be done, reconnects with clean = false. */
async function reconnect(t: Scope, raw: RawClient, id: string): Promise<{ raw: RawClient; connack: IConnackPacket }> {
  const from = presence.mark();
  await raw.disconnect();
  await presence.disconnected(id, { from });
  return RawClient.connect(node.mqttPort, { clientId: id, clean: false }, t);
}

test('an unacknowledged QoS 1 message is resent with DUP and the same packet id on reconnect', async (t) => {
  const id = uid('dup1');
  const topic = `${id}/t`;
  const raw = await rawSubscriber(t, id, topic, 1);
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${id}-pub` }, t);
  await pub.publish(topic, 'unacked', { qos: 1 });
  const first = (await raw.next('publish')) as IPublishPacket;
  assert.deepEqual([first.topic, String(first.payload), first.qos, first.dup], [topic, 'unacked', 1, false]);
  assert.ok(first.messageId! > 0);

  // no PUBACK
  const { raw: raw2, connack } = await reconnect(t, raw, id);
  assert.equal(connack.sessionPresent, true);
  const again = (await raw2.next('publish')) as IPublishPacket;
  assert.deepEqual([again.topic, String(again.payload), again.qos, again.dup, again.messageId], [topic, 'unacked', 1, true, first.messageId]);
  raw2.send({ cmd: 'puback', messageId: again.messageId! });
  await raw2.ping();
  assert.deepEqual(raw2.unread(), [], 'sent once on reconnect');

  // acknowledged now: the next reconnect resends nothing
  const { raw: raw3, connack: connack3 } = await reconnect(t, raw2, id);
  assert.equal(connack3.sessionPresent, true);
  await raw3.ping();
  assert.deepEqual(raw3.unread(), []);
  await raw3.disconnect();
});

test('QoS 2 on reconnect: an un-PUBREC-ed PUBLISH is resent with DUP, an un-PUBCOMP-ed PUBREL is resent', async (t) => {
  const id = uid('dup2');
  const topic = `${id}/t`;
  const raw = await rawSubscriber(t, id, topic, 2);
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${id}-pub` }, t);
  await pub.publish(topic, 'exactly-once', { qos: 2 });
  const first = (await raw.next('publish')) as IPublishPacket;
  assert.deepEqual([String(first.payload), first.qos, first.dup], ['exactly-once', 2, false]);

  // no PUBREC: the PUBLISH comes again
  const { raw: raw2 } = await reconnect(t, raw, id);
  const again = (await raw2.next('publish')) as IPublishPacket;
  assert.deepEqual([String(again.payload), again.qos, again.dup, again.messageId], ['exactly-once', 2, true, first.messageId]);
  raw2.send({ cmd: 'pubrec', messageId: again.messageId! });
  const rel = (await raw2.next('pubrel')) as IPubrelPacket;
  assert.equal(rel.messageId, first.messageId);

  // no PUBCOMP: the PUBREL comes again, not the PUBLISH
  const { raw: raw3, connack } = await reconnect(t, raw2, id);
  assert.equal(connack.sessionPresent, true);
  const rel2 = (await raw3.next('pubrel')) as IPubrelPacket;
  assert.equal(rel2.messageId, first.messageId);
  raw3.send({ cmd: 'pubcomp', messageId: rel2.messageId });
  await raw3.ping();
  assert.deepEqual(raw3.unread(), []);

  // done: nothing on the next reconnect
  const { raw: raw4 } = await reconnect(t, raw3, id);
  await raw4.ping();
  assert.deepEqual(raw4.unread(), []);
  await raw4.disconnect();
});
