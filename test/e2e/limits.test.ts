// Configured limits and protocol enforcement end to end: connection, client id, QoS,
// subscription, topic level and inflight limits, keepalive and CONNECT timeouts, and
// malformed CONNECT sequences, against real broker processes.
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as mqttPacket from 'mqtt-packet';
import type { IPublishPacket } from 'mqtt-packet';
import { startNode, type NodeProcess } from '../support/broker.js';
import { HOST, RawClient, openClient, sleep, text, uid, within } from '../support/mqtt5.js';

let limitsNode: NodeProcess | undefined;
let connsNode: NodeProcess | undefined;
/** Default settings: protocol checks that must not be confused with a timeout. */
let protoNode: NodeProcess | undefined;

const IDLE_TIMEOUT_MS = 500;

before(async () => {
  const started = await Promise.allSettled([
    startNode({
      name: 'limits',
      env: {
        STARLING_MAX_CLIENTID_LEN: '10',
        STARLING_MAX_QOS_ALLOWED: '1',
        STARLING_MAX_SUBSCRIPTIONS: '2',
        STARLING_MAX_TOPIC_LEVELS: '3',
        STARLING_MAX_INFLIGHT: '2',
        STARLING_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
      },
    }),
    startNode({ name: 'max-conns', env: { STARLING_MAX_CONNS: '3' } }),
    startNode({ name: 'proto' }),
  ]);
  [limitsNode, connsNode, protoNode] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
  for (const s of started) if (s.status === 'rejected') throw s.reason;
});

after(async () => {
  await Promise.all([limitsNode?.stop(), connsNode?.stop(), protoNode?.stop()]);
});

// Client ids on the limits node stay within its 10 characters.
const shortId = (prefix: string): string => `${prefix}${uid(4)}`.slice(0, 10);

describe('STARLING_MAX_CONNS=3', () => {
  it('a 4th TCP connection is closed at once; the first 3 keep working; a freed slot can be reused', async (t) => {
    const port = connsNode!.mqttPort;
    const topic = `mc/${uid()}`;
    const [a, b, c] = [
      await RawClient.connected(t, port, { protocolVersion: 4 }),
      await RawClient.connected(t, port, { protocolVersion: 4 }),
      await RawClient.connected(t, port, { protocolVersion: 4 }),
    ];
    // the 4th: accepted by the kernel, closed by the broker before any MQTT
    const received: Buffer[] = [];
    const fourth = tcpConnect({ host: HOST, port });
    t.after(() => fourth.destroy());
    fourth.on('error', () => {}); // a reset is a close too
    fourth.on('data', (d: Buffer) => received.push(d));
    fourth.on('connect', () => fourth.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'fourth', clean: true, keepalive: 0 })));
    await within(new Promise((resolve) => fourth.once('close', resolve)), 3000, 'the 4th connection to be closed');
    assert.equal(Buffer.concat(received).length, 0, 'the 4th connection got no CONNACK');
    // the first three still work
    assert.deepEqual(await b.subscribe([{ topic, qos: 1 }]), [1]);
    a.send({ cmd: 'publish', topic, payload: Buffer.from('still'), qos: 1, messageId: 1, retain: false, dup: false });
    assert.equal((await a.expect('puback')).messageId, 1);
    assert.equal(text(await b.expect('publish')), 'still');
    assert.deepEqual(await c.sync(), []);
    // a slot freed by a clean disconnect can be taken again
    c.send({ cmd: 'disconnect' });
    await c.waitClosed();
    const d = await RawClient.connected(t, port, { protocolVersion: 4 });
    assert.deepEqual(await d.sync(), []);
  });
});

describe('limits (client id 10, max QoS 1, 2 subscriptions, 3 topic levels, inflight 2)', { concurrency: true }, () => {
  const port = (): number => limitsNode!.mqttPort;

  it('STARLING_MAX_CLIENTID_LEN=10: 10 characters are fine, 11 are refused with 2 / 0x85', async (t) => {
    for (const v of [4, 5] as const) {
      const ok = await RawClient.open(t, port(), v);
      const ack = await ok.connect({ clientId: 'x'.repeat(9) + v });
      assert.equal(v === 5 ? ack.reasonCode : ack.returnCode, 0);
      const long = await RawClient.open(t, port(), v);
      const refused = await long.connect({ clientId: 'y'.repeat(10) + v });
      assert.equal(v === 5 ? refused.reasonCode : refused.returnCode, v === 5 ? 0x85 : 2);
      await long.waitClosed();
    }
  });

  it('STARLING_MAX_QOS_ALLOWED=1: a QoS 2 subscription is granted QoS 1; CONNACK says Maximum QoS 1', async (t) => {
    const topic = `q/${uid()}`;
    const v5 = await RawClient.open(t, port(), 5);
    const ack = await v5.connect({ clientId: shortId('q5') });
    assert.equal(ack.properties?.maximumQoS, 1);
    assert.deepEqual(await v5.subscribe([{ topic, qos: 2 }]), [1]);
    const v4 = await RawClient.connected(t, port(), { protocolVersion: 4, clientId: shortId('q4') });
    assert.deepEqual(await v4.subscribe([{ topic, qos: 2 }]), [1]);
    // delivered at QoS 1
    const pub = await openClient(t, port(), { clientId: shortId('qp') });
    await pub.publish(topic, 'one', { qos: 1 });
    for (const c of [v5, v4]) {
      const m = (await c.expect('publish')) as IPublishPacket;
      assert.deepEqual([m.qos, text(m)], [1, 'one']);
    }
  });

  it('STARLING_MAX_QOS_ALLOWED=1: a QoS 2 PUBLISH gets DISCONNECT 0x9B (5) / a close (3.1.1)', async (t) => {
    const v5 = await RawClient.connected(t, port(), { clientId: shortId('p5') });
    v5.send({ cmd: 'publish', topic: `q/${uid()}`, payload: Buffer.from('x'), qos: 2, messageId: 1, retain: false, dup: false });
    assert.equal((await v5.expect('disconnect')).reasonCode, 0x9b);
    await v5.waitClosed();
    const v4 = await RawClient.connected(t, port(), { protocolVersion: 4, clientId: shortId('p4') });
    v4.send({ cmd: 'publish', topic: `q/${uid()}`, payload: Buffer.from('x'), qos: 2, messageId: 1, retain: false, dup: false });
    await v4.waitClosed();
    assert.equal(v4.queue.length, 0, 'no PUBREC');
  });

  it('STARLING_MAX_SUBSCRIPTIONS=2: the third filter gets 0x97 (5) / 0x80 (3.1.1); re-subscribing is fine', async (t) => {
    const p = `s/${uid()}`;
    const v5 = await RawClient.connected(t, port(), { clientId: shortId('s5') });
    assert.deepEqual(
      await v5.subscribe([
        { topic: `${p}/a`, qos: 0 },
        { topic: `${p}/b`, qos: 1 },
        { topic: `${p}/c`, qos: 1 },
      ]),
      [0, 1, 0x97],
    );
    assert.deepEqual(await v5.subscribe([{ topic: `${p}/a`, qos: 1 }], 2), [1]); // an existing one is replaced, not added
    assert.deepEqual(await v5.subscribe([{ topic: `${p}/d`, qos: 1 }], 3), [0x97]);
    // unsubscribing frees a slot
    v5.send({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: [`${p}/b`] });
    assert.deepEqual((await v5.expect('unsuback')).granted, [0]);
    assert.deepEqual(await v5.subscribe([{ topic: `${p}/d`, qos: 1 }], 5), [1]);

    const v4 = await RawClient.connected(t, port(), { protocolVersion: 4, clientId: shortId('s4') });
    assert.deepEqual(
      await v4.subscribe([
        { topic: `${p}/a`, qos: 1 },
        { topic: `${p}/b`, qos: 1 },
        { topic: `${p}/c`, qos: 1 },
      ]),
      [1, 1, 0x80],
    );
  });

  it('STARLING_MAX_TOPIC_LEVELS=3: deeper filters get 0x8F / 0x80, a deeper PUBLISH closes (5: DISCONNECT 0x90)', async (t) => {
    const r = uid();
    const v5 = await RawClient.connected(t, port(), { clientId: shortId('l5') });
    assert.deepEqual(await v5.subscribe([{ topic: `${r}/b/c`, qos: 1 }, { topic: `${r}/b/c/d`, qos: 1 }]), [1, 0x8f]);
    const v4 = await RawClient.connected(t, port(), { protocolVersion: 4, clientId: shortId('l4') });
    assert.deepEqual(await v4.subscribe([{ topic: `${r}/+/#`, qos: 1 }, { topic: `${r}/b/c/#`, qos: 1 }]), [1, 0x80]);
    // three levels publish and arrive
    const pub = await RawClient.connected(t, port(), { clientId: shortId('lp') });
    pub.send({ cmd: 'publish', topic: `${r}/b/c`, payload: Buffer.from('ok'), qos: 1, messageId: 1, retain: false, dup: false });
    assert.equal((await pub.expect('puback')).reasonCode ?? 0, 0);
    assert.equal(text(await v5.expect('publish')), 'ok');
    assert.equal(text(await v4.expect('publish')), 'ok');
    // four do not
    pub.send({ cmd: 'publish', topic: `${r}/b/c/d`, payload: Buffer.from('deep'), qos: 1, messageId: 2, retain: false, dup: false });
    assert.equal((await pub.expect('disconnect')).reasonCode, 0x90);
    await pub.waitClosed();
    const pub4 = await RawClient.connected(t, port(), { protocolVersion: 4, clientId: shortId('lq') });
    pub4.send({ cmd: 'publish', topic: `${r}/b/c/d`, payload: Buffer.from('deep'), qos: 1, messageId: 2, retain: false, dup: false });
    await pub4.waitClosed();
    assert.equal(pub4.queue.length, 0, 'no PUBACK');
    assert.deepEqual(await v5.sync(), []);
  });

  it('STARLING_MAX_INFLIGHT=2: a subscriber that does not ack has at most 2 QoS 1 PUBLISH in flight', async (t) => {
    const topic = `inf/${uid()}`;
    const raw = await RawClient.connected(t, port(), { protocolVersion: 4, clientId: shortId('in') });
    assert.deepEqual(await raw.subscribe([{ topic, qos: 1 }, { topic: `${topic}/s`, qos: 0 }]), [1, 0]);
    const pub = await openClient(t, port(), { clientId: shortId('ip') });
    for (let i = 0; i < 5; i++) await pub.publish(topic, `m${i}`, { qos: 1 });
    // QoS 0 is not held back by the window: once it is here, everything routed before it is too
    await pub.publish(`${topic}/s`, 'sync', { qos: 0 });
    const before = await raw.waitUntil(
      () => {
        const i = raw.queue.findIndex((p) => p.cmd === 'publish' && p.topic === `${topic}/s`);
        return i >= 0 ? (raw.queue.splice(0, i + 1).slice(0, -1) as IPublishPacket[]) : undefined;
      },
      5000,
      'waiting for the QoS 0 sync message',
    );
    assert.deepEqual(await raw.sync(), []);
    assert.deepEqual(
      before.map((p) => [p.qos, text(p)]),
      [
        [1, 'm0'],
        [1, 'm1'],
      ],
    );
    raw.send({ cmd: 'puback', messageId: before[0]!.messageId! });
    const m2 = (await raw.expect('publish')) as IPublishPacket;
    assert.equal(text(m2), 'm2');
    assert.deepEqual(await raw.sync(), []);
    raw.send({ cmd: 'puback', messageId: before[1]!.messageId! });
    raw.send({ cmd: 'puback', messageId: m2.messageId! });
    const rest = [(await raw.expect('publish')) as IPublishPacket, (await raw.expect('publish')) as IPublishPacket];
    assert.deepEqual(rest.map(text), ['m3', 'm4']);
  });

  it('keepalive 1 and silence: dropped after ~1.5 s (5: DISCONNECT 0x8D); a client that pings stays', async (t) => {
    const silent5 = await RawClient.connected(t, port(), { clientId: shortId('k5'), keepalive: 1 });
    const silent4 = await RawClient.connected(t, port(), { protocolVersion: 4, clientId: shortId('k4'), keepalive: 1 });
    const pinger = await RawClient.connected(t, port(), { clientId: shortId('kp'), keepalive: 1 });
    const t0 = Date.now();
    const timer = setInterval(() => pinger.send({ cmd: 'pingreq' }), 400);
    t.after(() => clearInterval(timer));
    const d = await silent5.expect('disconnect', 5000);
    assert.equal(d.reasonCode, 0x8d);
    await silent5.waitClosed();
    await silent4.waitClosed();
    const elapsed = Date.now() - t0;
    // 1.5 × keepalive, checked once a second
    assert.ok(elapsed >= 1400 && elapsed < 3000, `dropped after ${elapsed} ms`);
    assert.equal(silent4.queue.length, 0);
    await sleep(1000); // a further second of pings: the pinger must outlive the silent ones by a full check
    clearInterval(timer);
    assert.equal(pinger.isClosed, false);
    assert.ok(pinger.queue.every((p) => p.cmd === 'pingresp'));
  });

  it(`a connection that never sends CONNECT is closed after STARLING_IDLE_TIMEOUT_MS=${IDLE_TIMEOUT_MS}`, async (t) => {
    const t0 = Date.now();
    const raw = await RawClient.open(t, port(), 4);
    await raw.waitClosed(4000);
    const elapsed = raw.closedAt - t0;
    // checked once a second: between the timeout and the timeout plus one sweep
    assert.ok(elapsed >= IDLE_TIMEOUT_MS - 50 && elapsed < IDLE_TIMEOUT_MS + 2000, `closed after ${elapsed} ms`);
    assert.equal(raw.received.length, 0);
  });

  it('a connection that sends only part of a CONNECT is closed by the same timeout', async (t) => {
    const bytes = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'partial', clean: true, keepalive: 0 });
    const t0 = Date.now();
    const raw = await RawClient.open(t, port(), 4);
    raw.write(bytes.subarray(0, 5));
    await raw.waitClosed(4000);
    const elapsed = raw.closedAt - t0;
    assert.ok(elapsed >= IDLE_TIMEOUT_MS - 50 && elapsed < IDLE_TIMEOUT_MS + 2000, `closed after ${elapsed} ms`);
    assert.equal(raw.received.length, 0);
  });
});

describe('CONNECT sequence and protocol versions', { concurrency: true }, () => {
  const port = (): number => protoNode!.mqttPort;

  it('a first packet that is not CONNECT closes the connection', async (t) => {
    const ping = await RawClient.open(t, port(), 4);
    ping.send({ cmd: 'pingreq' });
    await ping.waitClosed(2000);
    assert.equal(ping.received.length, 0, 'no PINGRESP');
    const sub = await RawClient.open(t, port(), 5);
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] });
    await sub.waitClosed(2000);
    assert.equal(sub.received.length, 0, 'no SUBACK');
  });

  it('a second CONNECT closes the connection (5: DISCONNECT 0x82 first)', async (t) => {
    const v4 = await RawClient.connected(t, port(), { protocolVersion: 4 });
    v4.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `again-${uid()}`, clean: true, keepalive: 0 });
    await v4.waitClosed(2000);
    assert.equal(v4.queue.length, 0, 'no second CONNACK');
    const v5 = await RawClient.connected(t, port(), { protocolVersion: 5 });
    v5.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `again-${uid()}`, clean: true, keepalive: 0 });
    assert.equal((await v5.expect('disconnect')).reasonCode, 0x82);
    await v5.waitClosed(2000);
  });

  it('an unsupported protocol level (6) gets CONNACK return code 1, then a close', async (t) => {
    const bytes = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'level6', clean: true, keepalive: 0 });
    assert.equal(bytes.toString('latin1', 4, 8), 'MQTT');
    bytes[8] = 6; // the protocol level byte
    const raw = await RawClient.open(t, port(), 4);
    raw.write(bytes);
    const ack = await raw.expect('connack');
    assert.equal(ack.returnCode, 1);
    assert.equal(ack.sessionPresent, false);
    await raw.waitClosed(2000);
  });

  it('MQTT 3.1 (MQIsdp, level 3): an empty client id gets return code 2; a given one is accepted', async (t) => {
    // hand-built: mqtt-packet will not encode a 3.1 CONNECT without a client id
    const connect31 = (clientId: string): Buffer => {
      const id = Buffer.from(clientId);
      const body = Buffer.concat([Buffer.from([0, 6]), Buffer.from('MQIsdp'), Buffer.from([3, 0x02, 0, 0]), Buffer.from([id.length >> 8, id.length & 0xff]), id]);
      return Buffer.concat([Buffer.from([0x10, body.length]), body]);
    };
    const empty = await RawClient.open(t, port(), 3);
    empty.write(connect31(''));
    assert.equal((await empty.expect('connack')).returnCode, 2);
    await empty.waitClosed(2000);
    const named = await RawClient.open(t, port(), 3);
    named.write(connect31(`v31-${uid()}`));
    assert.equal((await named.expect('connack')).returnCode, 0);
    assert.deepEqual(await named.sync(), []);
  });

  it('a protocol name that does not go with the level (MQIsdp with 4) gets return code 1', async (t) => {
    const raw = await RawClient.open(t, port(), 4);
    raw.send({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 4, clientId: `mix-${uid()}`, clean: true, keepalive: 0 });
    assert.equal((await raw.expect('connack')).returnCode, 1);
    await raw.waitClosed(2000);
  });
});
