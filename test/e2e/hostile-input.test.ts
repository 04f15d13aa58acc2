// Hostile MQTT input against a real node process: huge announced lengths, deep and huge topic
// filters, subscribe storms, and strings that are not well-formed UTF-8 (or hold U+0000) in
// every place a packet carries one. Each must close (or refuse) that one client, with the
// right MQTT 5 reason code, and leave the node serving everyone else.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as mqttPacket from 'mqtt-packet';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { startNode, type NodeProcess } from '../support/broker.js';
import { RawClient, openClient, text, uid, type Scope } from '../support/mqtt5.js';

const MAX_SUBSCRIPTIONS = 100;
let node: NodeProcess | undefined;

before(async () => {
  node = await startNode({ name: 'hostile', env: { STARLING_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS) } });
});

after(async () => {
  await node?.stop();
});

const port = (): number => node!.mqttPort;

/** A publisher and a subscriber that must keep working whatever a hostile client did. */
async function assertOthersServed(t: Scope): Promise<void> {
  const topic = `ok/${uid()}`;
  const sub = await openClient(t, port());
  await sub.subscribe(topic, { qos: 1 });
  const pub = await openClient(t, port());
  await pub.publish(topic, 'still served', { qos: 1 });
  assert.equal((await sub.next()).payload, 'still served');
}

/** No uncaught error in the node's log. */
function assertNoCrashLogged(): void {
  const bad = node!.logEntries().filter((e) => (e.level as number) >= 50 || /uncaught|unhandled/i.test(String(e.msg)));
  assert.deepEqual(bad, []);
}

/** `packet` encoded with the first occurrence of `marker` (ASCII) replaced by `bytes` of the same length. */
function withBytes(packet: Packet, version: 4 | 5, marker: string, bytes: number[]): Buffer {
  assert.equal(marker.length, bytes.length);
  const buf = mqttPacket.generate(packet, { protocolVersion: version });
  const at = buf.indexOf(marker, 0, 'latin1');
  assert.ok(at > 0, `${marker} in the packet`);
  Buffer.from(bytes).copy(buf, at);
  return buf;
}

// ill-formed UTF-8 of two bytes (a lone continuation byte, a truncated sequence) and U+0000
const BAD_STRINGS: [string, number[]][] = [
  ['a lone continuation byte', [0x61, 0x80]],
  ['a surrogate (U+D800 encoded)', [0xed, 0xa0]],
  ['an overlong NUL (C0 80)', [0xc0, 0x80]],
  ['U+0000', [0x61, 0x00]],
];

describe('huge remaining lengths and oversized packets', { concurrency: true }, () => {
  it('a header announcing 256 MB closes the connection at once, before CONNECT and after it (5: DISCONNECT 0x95)', async (t) => {
    const huge = Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]); // PUBLISH, remaining length 268,435,455
    const early = await RawClient.open(t, port(), 4);
    early.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f])); // a CONNECT that size
    await early.waitClosed(3000);
    assert.equal(early.received.length, 0);
    for (const v of [4, 5] as const) {
      const c = await RawClient.connected(t, port(), { protocolVersion: v });
      c.write(Buffer.concat([huge, Buffer.alloc(100)]));
      if (v === 5) assert.equal((await c.expect('disconnect')).reasonCode, 0x95);
      await c.waitClosed(3000);
    }
    // sent one byte at a time, the length is refused as soon as it is read
    const slow = await RawClient.connected(t, port(), { protocolVersion: 5 });
    for (const b of huge) slow.write(Buffer.from([b]));
    assert.equal((await slow.expect('disconnect')).reasonCode, 0x95);
    await slow.waitClosed(3000);
    await assertOthersServed(t);
  });

  it('five continuation bytes in a remaining length are malformed (5: DISCONNECT 0x81)', async (t) => {
    const c = await RawClient.connected(t, port(), { protocolVersion: 5 });
    c.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    assert.equal((await c.expect('disconnect')).reasonCode, 0x81);
    await c.waitClosed(3000);
  });
});

describe('deep and huge topic filters, subscribe storms', { concurrency: true }, () => {
  it('a 64 KB filter of 32,768 levels and a 64 KB single-level filter: subscribed or refused, and matched without harm', async (t) => {
    const deep = Array.from({ length: 32_767 }, () => '+').join('/') + '/#'; // 65,535 bytes
    const wide = 'w'.repeat(65_535);
    assert.equal(deep.length, 65_535);
    const c = await RawClient.connected(t, port(), { protocolVersion: 5 });
    const granted = await c.subscribe([
      { topic: deep, qos: 1 },
      { topic: wide, qos: 1 },
    ]);
    assert.equal(granted.length, 2);
    for (const g of granted) assert.ok(g === 1 || g >= 0x80, `granted ${g}`);
    // a topic as deep as the filter: its match walks every level
    const pub = await RawClient.connected(t, port(), { protocolVersion: 5 });
    const deepTopic = Array.from({ length: 32_767 }, () => 'd').join('/');
    pub.send({ cmd: 'publish', topic: deepTopic, payload: Buffer.from('deep'), qos: 1, messageId: 1, retain: false, dup: false });
    const ack = await pub.expect('puback');
    assert.equal(ack.messageId, 1);
    pub.send({ cmd: 'publish', topic: wide, payload: Buffer.from('wide'), qos: 1, messageId: 2, retain: true, dup: false });
    assert.equal((await pub.expect('puback')).messageId, 2);
    const got = (await c.sync()).filter((p): p is IPublishPacket => p.cmd === 'publish');
    assert.deepEqual(got.map(text).sort(), [granted[0] === 1 ? ['deep'] : [], granted[1] === 1 ? ['wide'] : []].flat().sort());
    // unsubscribing them, and a retained lookup through the deep filter, are fine too
    const sub2 = await RawClient.connected(t, port(), { protocolVersion: 5 });
    await sub2.subscribe([{ topic: deep, qos: 0 }]);
    c.send({ cmd: 'unsubscribe', messageId: 9, unsubscriptions: [deep, wide] });
    assert.equal((await c.expect('unsuback')).messageId, 9);
    await assertOthersServed(t);
    assertNoCrashLogged();
  });

  it('a retained message 32,001 levels deep is found by # and by + filters of its depth', async (t) => {
    const r = `rd-${uid()}`;
    const levels = 32_000;
    const topic = `${r}/${Array.from({ length: levels }, () => 'd').join('/')}`;
    const pub = await RawClient.connected(t, port(), { protocolVersion: 5 });
    pub.send({ cmd: 'publish', topic, payload: Buffer.from('kept'), qos: 1, messageId: 1, retain: true, dup: false });
    assert.equal((await pub.expect('puback')).messageId, 1);
    const sub = await RawClient.connected(t, port(), { protocolVersion: 5 });
    assert.deepEqual(await sub.subscribe([{ topic: `${r}/#`, qos: 1 }]), [1]);
    assert.equal(text(await sub.expect('publish')), 'kept');
    assert.deepEqual(await sub.subscribe([{ topic: `${r}/${Array.from({ length: levels }, () => '+').join('/')}`, qos: 0 }], 2), [0]);
    assert.equal(text(await sub.expect('publish')), 'kept');
    // cleared again
    pub.send({ cmd: 'publish', topic, payload: Buffer.alloc(0), qos: 1, messageId: 2, retain: true, dup: false });
    assert.equal((await pub.expect('puback')).messageId, 2);
  });

  it(`a storm of 3,000 SUBSCRIBEs: bounded by STARLING_MAX_SUBSCRIPTIONS=${MAX_SUBSCRIPTIONS} (0x97), others served meanwhile`, async (t) => {
    const base = `storm/${uid()}`;
    const stormer = await RawClient.connected(t, port(), { protocolVersion: 5 });
    const N = 3000;
    // all written at once, the node reads them as fast as it can
    const packets: Buffer[] = [];
    for (let i = 1; i <= N; i++) packets.push(mqttPacket.generate({ cmd: 'subscribe', messageId: i, subscriptions: [{ topic: `${base}/${i}/#`, qos: 1 }] }, { protocolVersion: 5 }));
    stormer.write(Buffer.concat(packets));
    // meanwhile, another client is answered
    await assertOthersServed(t);
    const acks = await stormer.waitUntil(() => (stormer.queue.length >= N ? stormer.queue.splice(0, N) : undefined), 30_000, 'all SUBACKs');
    const codes = acks.map((p) => (p as mqttPacket.ISubackPacket).granted[0]);
    assert.deepEqual(codes.slice(0, MAX_SUBSCRIPTIONS), Array(MAX_SUBSCRIPTIONS).fill(1));
    assert.deepEqual(new Set(codes.slice(MAX_SUBSCRIPTIONS)), new Set([0x97]));
    // its granted subscriptions work
    const pub = await openClient(t, port());
    await pub.publish(`${base}/7/x`, 'granted', { qos: 1 });
    await pub.publish(`${base}/${N}/x`, 'refused', { qos: 1 });
    const got = (await stormer.sync()).filter((p): p is IPublishPacket => p.cmd === 'publish');
    assert.deepEqual(got.map(text), ['granted']);
  });
});

describe('strings that are not well-formed UTF-8, or hold U+0000 [MQTT-1.5.4-1, MQTT-1.5.4-2]', { concurrency: true }, () => {
  for (const [what, bytes] of BAD_STRINGS) {
    it(`${what}: in a PUBLISH topic with and without properties, DISCONNECT 0x80/0x81/0x82/0x90 and a close; nothing delivered`, async (t) => {
      const root = `u8t-${uid()}`;
      const watcher = await RawClient.connected(t, port(), { protocolVersion: 5 });
      await watcher.subscribe([{ topic: `${root}/#`, qos: 0 }]);
      for (const properties of [undefined, { userProperties: { k: 'v' } }, { contentType: 'text/plain', messageExpiryInterval: 60 }]) {
        const pub = await RawClient.connected(t, port(), { protocolVersion: 5 });
        const topic = `${root}/ZZ`;
        pub.write(withBytes({ cmd: 'publish', topic, payload: Buffer.from('bad'), qos: 1, messageId: 1, retain: false, dup: false, properties }, 5, 'ZZ', bytes));
        const d = await pub.expect('disconnect');
        assert.ok([0x80, 0x81, 0x82, 0x90].includes(d.reasonCode!), `reason code ${d.reasonCode}`);
        await pub.waitClosed(3000);
        assert.equal(pub.queue.length, 0, 'no PUBACK');
      }
      const delivered = (await watcher.sync()).filter((p): p is IPublishPacket => p.cmd === 'publish');
      assert.deepEqual(delivered, []);
    });

    it(`${what}: in PUBLISH properties (user property, content type, response topic), SUBSCRIBE and UNSUBSCRIBE filters: DISCONNECT 0x81 and a close`, async (t) => {
      const cases: Packet[] = [
        { cmd: 'publish', topic: 'u8/p', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { userProperties: { kZZ: 'v' } } },
        { cmd: 'publish', topic: 'u8/p', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { userProperties: { k: 'vZZ' } } },
        { cmd: 'publish', topic: 'u8/p', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { contentType: 'tZZ' } },
        { cmd: 'publish', topic: 'u8/p', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { responseTopic: 'rZZ' } },
        { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'u8/ZZ', qos: 0 }] },
        { cmd: 'unsubscribe', messageId: 1, unsubscriptions: ['u8/ZZ'] },
      ];
      for (const packet of cases) {
        const c = await RawClient.connected(t, port(), { protocolVersion: 5 });
        c.write(withBytes(packet, 5, 'ZZ', bytes));
        const d = await c.expect('disconnect');
        assert.equal(d.reasonCode, 0x81, `${JSON.stringify(packet)}: reason code ${d.reasonCode}`);
        await c.waitClosed(3000);
        assert.equal(c.queue.length, 0, 'no SUBACK / UNSUBACK');
      }
      // MQTT 3.1.1: a close
      const v4 = await RawClient.connected(t, port(), { protocolVersion: 4 });
      v4.write(withBytes({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'u8/ZZ', qos: 0 }] }, 4, 'ZZ', bytes));
      await v4.waitClosed(3000);
      assert.equal(v4.queue.length, 0, 'no SUBACK');
    });

    it(`${what}: in a CONNECT's client id, username, will topic, will property or user property: refused, no session`, async (t) => {
      const base = { cmd: 'connect', protocolId: 'MQTT', clean: true, keepalive: 0 } as const;
      const cases: [4 | 5, mqttPacket.IConnectPacket][] = [
        [4, { ...base, protocolVersion: 4, clientId: `idZZ${uid()}` }],
        [5, { ...base, protocolVersion: 5, clientId: `idZZ${uid()}` }],
        [4, { ...base, protocolVersion: 4, clientId: `u8-${uid()}`, username: 'uZZ', password: Buffer.from('p') }],
        [5, { ...base, protocolVersion: 5, clientId: `u8-${uid()}`, will: { topic: 'wZZ', payload: Buffer.from('w'), qos: 0, retain: false } }],
        [5, { ...base, protocolVersion: 5, clientId: `u8-${uid()}`, will: { topic: 'w', payload: Buffer.from('w'), qos: 0, retain: false, properties: { contentType: 'cZZ' } } }],
        [5, { ...base, protocolVersion: 5, clientId: `u8-${uid()}`, properties: { userProperties: { k: 'vZZ' } } }],
      ];
      for (const [v, packet] of cases) {
        const c = await RawClient.open(t, port(), v);
        c.write(withBytes(packet, v, 'ZZ', bytes));
        await c.waitClosed(3000);
        // a refusing CONNACK (MQTT 5: 0x80 or above) is allowed before the close, an accepting one is not
        for (const p of c.received) {
          assert.equal(p.cmd, 'connack');
          if (v === 5) assert.ok(p.reasonCode! >= 0x80, JSON.stringify(p));
          else assert.notEqual(p.returnCode, 0, JSON.stringify(p));
        }
      }
      await assertOthersServed(t);
      assertNoCrashLogged();
    });
  }

  it('well-formed multi-byte UTF-8 (and U+FFFD itself) is accepted everywhere', async (t) => {
    const topic = `u8/é€😀\ufffd/${uid()}`;
    const sub = await RawClient.connected(t, port(), { protocolVersion: 5, clientId: `é-${uid()}`, username: 'ü' });
    assert.deepEqual(await sub.subscribe([{ topic: 'u8/é€😀\ufffd/#', qos: 1 }]), [1]);
    const pub = await RawClient.connected(t, port(), { protocolVersion: 5 });
    pub.send({ cmd: 'publish', topic, payload: Buffer.from('ok'), qos: 1, messageId: 1, retain: false, dup: false, properties: { userProperties: { 'ключ': 'значение' }, contentType: '文字' } });
    assert.equal((await pub.expect('puback')).messageId, 1);
    const m = (await sub.expect('publish')) as IPublishPacket;
    assert.equal(m.topic, topic);
    assert.deepEqual({ ...m.properties?.userProperties }, { 'ключ': 'значение' });
  });
});
