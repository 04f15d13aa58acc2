/**
 * QoS 0/1/2 end to end with real clients against a real broker process: the publish ×
 * subscription QoS matrix over TCP and WebSocket, exactly-once for QoS 2, subscription QoS
 * downgrade, and interoperability with the mosquitto command-line clients.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, type NodeProcess } from '../support/broker.js';
import { closeAllClients, connectClient, mosquittoPub, mosquittoSub, RawClient, tcpUrl, uid, wsUrl, type QoS } from '../support/mqtt-clients.js';

let node: NodeProcess;

before(async () => {
  node = await startNode({ name: 'qos' });
});

after(async () => {
  await closeAllClients();
  await node?.stop();
});

const LEVELS: QoS[] = [0, 1, 2];
const min = (a: QoS, b: QoS): QoS => (a < b ? a : b);

const url = (transport: 'tcp' | 'ws') => (transport === 'tcp' ? tcpUrl(node.mqttPort) : wsUrl(node.wsPort));

for (const [pubT, subT] of [
  ['tcp', 'tcp'],
  ['ws', 'ws'],
  ['tcp', 'ws'],
  ['ws', 'tcp'],
] as const) {
  test(`publish QoS × subscription QoS, ${pubT} → ${subT}: delivered QoS is the minimum`, async (t) => {
    const base = uid('qm');
    const sub = await connectClient(url(subT), { clientId: `${base}-sub` }, t);
    const pub = await connectClient(url(pubT), { clientId: `${base}-pub` }, t);
    for (const s of LEVELS) {
      const granted = await sub.subscribe(`${base}/s${s}`, { qos: s });
      assert.deepEqual(
        granted.map((g) => [g.topic, g.qos]),
        [[`${base}/s${s}`, s]],
      );
    }
    for (const p of LEVELS) {
      // QoS 1/2: resolves on PUBACK / PUBCOMP, so the broker acknowledged each one
      for (const s of LEVELS) await pub.publish(`${base}/s${s}`, `p${p}-s${s}`, { qos: p });
    }
    const got = await sub.waitForMessages(9);
    await pub.barrier();
    await sub.barrier();
    assert.equal(sub.received.length, 9, 'one delivery per publish');
    for (const p of LEVELS) {
      for (const s of LEVELS) {
        const m = got.find((x) => x.payload === `p${p}-s${s}`);
        assert.ok(m, `p${p}-s${s} arrived`);
        assert.equal(m.topic, `${base}/s${s}`);
        assert.equal(m.qos, min(p, s), `QoS of p${p}-s${s}`);
        assert.equal(m.retain, false);
        assert.equal(m.dup, false);
        if (m.qos > 0) assert.ok(m.messageId! > 0, 'QoS 1/2 deliveries carry a packet identifier');
      }
    }
    // one publisher, one subscription per topic: per-topic order is publish order
    for (const s of LEVELS) {
      assert.deepEqual(
        got.filter((m) => m.topic === `${base}/s${s}`).map((m) => m.payload),
        LEVELS.map((p) => `p${p}-s${s}`),
      );
    }
  });
}

for (const transport of ['tcp', 'ws'] as const) {
  test(`QoS 2 is exactly once over ${transport}: 100 messages, 100 deliveries, in order`, async (t) => {
    const base = uid('q2');
    const sub = await connectClient(url(transport), { clientId: `${base}-sub` }, t);
    const pub = await connectClient(url(transport), { clientId: `${base}-pub` }, t);
    await sub.subscribe(`${base}/x`, { qos: 2 });
    const sent = Array.from({ length: 100 }, (_, i) => `m${i}`);
    // all in flight at once: more than the broker's inflight window (32) towards the subscriber
    await Promise.all(sent.map((p) => pub.publish(`${base}/x`, p, { qos: 2 })));
    await sub.waitForMessages(100);
    await sub.barrier();
    assert.deepEqual(
      sub.received.map((m) => m.payload),
      sent,
    );
    assert.ok(sub.received.every((m) => m.qos === 2 && !m.dup && m.messageId! > 0));
  });
}

test('a QoS 2 PUBLISH resent (DUP) before PUBREL is acknowledged again but delivered once', async (t) => {
  const base = uid('q2dup');
  const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-sub` }, t);
  await sub.subscribe(`${base}/x`, { qos: 2 });
  const { raw, connack } = await RawClient.connect(node.mqttPort, { clientId: `${base}-raw` }, t);
  assert.equal(connack.returnCode, 0);
  const publish = { cmd: 'publish', topic: `${base}/x`, payload: Buffer.from('once'), qos: 2, messageId: 42, retain: false } as const;
  raw.send({ ...publish, dup: false });
  const rec1 = await raw.next('pubrec');
  assert.equal(rec1.messageId, 42);
  // the sender did not get our PUBREC (as far as it knows) and sends the PUBLISH again
  raw.send({ ...publish, dup: true });
  const rec2 = await raw.next('pubrec');
  assert.equal(rec2.messageId, 42);
  raw.send({ cmd: 'pubrel', messageId: 42 });
  const comp = await raw.next('pubcomp');
  assert.equal(comp.messageId, 42);
  // packet id 42 is free again: a new message with it is a new message
  raw.send({ ...publish, payload: Buffer.from('twice'), dup: false });
  assert.equal((await raw.next('pubrec')).messageId, 42);
  raw.send({ cmd: 'pubrel', messageId: 42 });
  assert.equal((await raw.next('pubcomp')).messageId, 42);
  await sub.waitForMessages(2);
  await sub.barrier();
  assert.deepEqual(
    sub.received.map((m) => [m.payload, m.qos]),
    [
      ['once', 2],
      ['twice', 2],
    ],
  );
  await raw.disconnect();
});

test('subscription QoS downgrade: re-subscribing at a lower QoS replaces the subscription', async (t) => {
  const base = uid('qd');
  const topic = `${base}/x`;
  const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-sub` }, t);
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: `${base}-pub` }, t);

  assert.equal((await sub.subscribe(topic, { qos: 2 }))[0]!.qos, 2);
  await pub.publish(topic, 'at-2', { qos: 2 });
  assert.equal((await sub.waitForMessage(topic)).qos, 2);

  assert.equal((await sub.subscribe(topic, { qos: 0 }))[0]!.qos, 0);
  let from = sub.mark();
  await pub.publish(topic, 'at-0', { qos: 2 });
  const m0 = await sub.waitForMessage(topic, { from });
  assert.deepEqual([m0.payload, m0.qos], ['at-0', 0]);

  assert.equal((await sub.subscribe(topic, { qos: 1 }))[0]!.qos, 1);
  from = sub.mark();
  await pub.publish(topic, 'at-1', { qos: 2 });
  const m1 = await sub.waitForMessage(topic, { from });
  assert.deepEqual([m1.payload, m1.qos], ['at-1', 1]);

  await sub.barrier();
  // a re-subscription replaces the old one: one delivery per publish, never two
  assert.deepEqual(
    sub.received.map((m) => [m.payload, m.qos]),
    [
      ['at-2', 2],
      ['at-0', 0],
      ['at-1', 1],
    ],
  );
});

for (const version of ['mqttv311', 'mqttv5', 'mqttv31'] as const) {
  test(`mosquitto_sub / mosquitto_pub interop (-V ${version})`, async (t) => {
    const base = uid(version);
    const id = uid('m'); // clientIds: MQTT 3.1 allows at most 23 characters
    const port = node.mqttPort;

    // mosquitto_sub (QoS 2 subscription) receives what MQTT.js publishes at each QoS
    const msub = await mosquittoSub(port, ['-V', version, '-i', `${id}-s`, '-q', '2', '-t', `${base}/to-mosq`, '-C', '3'], t);
    const pub = await connectClient(tcpUrl(port), { clientId: `${base}-pub` }, t);
    for (const q of LEVELS) await pub.publish(`${base}/to-mosq`, `js-q${q}`, { qos: q });
    const got = await msub.waitForMessages(3);
    assert.deepEqual(got, [
      { topic: `${base}/to-mosq`, qos: 0, retain: false, payload: 'js-q0' },
      { topic: `${base}/to-mosq`, qos: 1, retain: false, payload: 'js-q1' },
      { topic: `${base}/to-mosq`, qos: 2, retain: false, payload: 'js-q2' },
    ]);
    // -C 3: it exits by itself after the third message, cleanly
    assert.deepEqual(await msub.proc.exited, { code: 0, signal: null });

    // MQTT.js receives what mosquitto_pub publishes at each QoS
    const sub = await connectClient(tcpUrl(port), { clientId: `${base}-sub` }, t);
    await sub.subscribe(`${base}/from-mosq`, { qos: 2 });
    for (const q of LEVELS) {
      await mosquittoPub(port, ['-V', version, '-i', `${id}-p${q}`, '-q', String(q), '-t', `${base}/from-mosq`, '-m', `mosq-q${q}`]);
    }
    const recv = await sub.waitForMessages(3);
    await sub.barrier();
    assert.deepEqual(
      sub.received.map((m) => [m.topic, m.payload, m.qos, m.retain]),
      LEVELS.map((q) => [`${base}/from-mosq`, `mosq-q${q}`, q, false]),
    );
    assert.equal(recv.length, 3);

    // mosquitto to mosquitto, this version on both ends, QoS 1 subscription downgrading QoS 2
    const msub2 = await mosquittoSub(port, ['-V', version, '-i', `${id}-s2`, '-q', '1', '-t', `${base}/m2m`, '-C', '1'], t);
    await mosquittoPub(port, ['-V', version, '-i', `${id}-p9`, '-q', '2', '-t', `${base}/m2m`, '-m', 'hello mosquitto']);
    assert.deepEqual(await msub2.waitForMessages(1), [{ topic: `${base}/m2m`, qos: 1, retain: false, payload: 'hello mosquitto' }]);
  });
}
