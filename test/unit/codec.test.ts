// Round trips of node/protocol/codec.ts against mqtt-packet, in the style of mqtt-packet's own
// tests: tables of packets that must survive encode → decode, plus seeded random input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mqttPacket from 'mqtt-packet';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import {
  FRAME_INCOMPLETE,
  FRAME_MALFORMED,
  MalformedPacketError,
  PublishEncoder,
  decodePacket,
  encodePacket,
  parsePublish,
  readFrame,
  type ProtocolVersion,
  type TopicCache,
} from '../../node/protocol/codec.js';
import type { QoS } from '../../shared/message.js';
import { prng } from '../support/prng.js';
import { varint } from '../support/bytes.js';


/** Parses one packet with a fresh mqtt-packet parser (the reference); throws on error or no packet. */
function refParse(buf: Buffer, version: ProtocolVersion): Packet {
  const p = mqttPacket.parser({ protocolVersion: version });
  const packets: Packet[] = [];
  let error: Error | undefined;
  p.on('packet', (pkt: Packet) => packets.push(pkt));
  p.on('error', (err: Error) => (error ??= err));
  p.parse(buf);
  if (error) throw error;
  assert.equal(packets.length, 1, `reference parser produced ${packets.length} packets`);
  return packets[0]!;
}

function gen(packet: Packet, version: ProtocolVersion): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: version });
}

const newCache = (): TopicCache => ({ topicBytes: undefined, topic: '' });

/** Frames `buf` (one packet) and runs the fast path on it, as Connection.onFrame does. */
function fast(buf: Buffer, version: ProtocolVersion, cache: TopicCache = newCache()): IPublishPacket | undefined {
  const frame = { length: 0 };
  const hl = readFrame(buf, 0, frame);
  assert.ok(hl > 0, 'frame header parses');
  assert.equal(hl + frame.length, buf.length, 'frame covers the whole packet');
  return parsePublish(buf, 0, hl, frame.length, version === 5, cache);
}

function publishFields(p: IPublishPacket) {
  const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
  return { cmd: p.cmd, topic: p.topic, payload: Buffer.from(payload), qos: p.qos, retain: p.retain, dup: p.dup, messageId: p.qos > 0 ? p.messageId : undefined };
}

const big16k = Buffer.alloc(16 * 1024 + 1, 0x61); // remaining length needs a 3-byte varint
const big2m = Buffer.alloc(2 * 1024 * 1024 + 7); // remaining length needs a 4-byte varint
for (let i = 0; i < big2m.length; i++) big2m[i] = i & 0xff;
const bin = Buffer.from([0, 1, 2, 0xff, 0x80, 0x7f, 0x30, 0x00]);

interface PubCase {
  name: string;
  version: ProtocolVersion;
  packet: IPublishPacket;
}

const pubCases: PubCase[] = [];
for (const version of [3, 4, 5] as ProtocolVersion[]) {
  const add = (name: string, p: Omit<IPublishPacket, 'cmd'>) => pubCases.push({ name: `v${version} ${name}`, version, packet: { cmd: 'publish', ...p } });
  add('qos0', { topic: 'a/b', payload: Buffer.from('hello'), qos: 0, retain: false, dup: false });
  add('qos1', { topic: 'a/b', payload: Buffer.from('hello'), qos: 1, retain: false, dup: false, messageId: 1 });
  add('qos2', { topic: 'a/b', payload: Buffer.from('hello'), qos: 2, retain: false, dup: false, messageId: 65535 });
  add('qos1 retain dup', { topic: 'x', payload: Buffer.from('y'), qos: 1, retain: true, dup: true, messageId: 42 });
  add('qos2 dup', { topic: 'x', payload: Buffer.from('y'), qos: 2, retain: false, dup: true, messageId: 256 });
  add('qos0 retain', { topic: 'r/t', payload: Buffer.from('retained'), qos: 0, retain: true, dup: false });
  add('empty payload qos0', { topic: 'e', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false });
  add('empty payload qos1 retain', { topic: 'e', payload: Buffer.alloc(0), qos: 1, retain: true, dup: false, messageId: 7 });
  add('binary payload', { topic: 'bin', payload: bin, qos: 1, retain: false, dup: false, messageId: 9 });
  add('127-byte remaining length (1-byte varint edge)', { topic: 'ab', payload: Buffer.alloc(127 - 4 - (version === 5 ? 1 : 0), 1), qos: 0, retain: false, dup: false });
  add('128-byte remaining length (2-byte varint)', { topic: 'ab', payload: Buffer.alloc(128 - 4 - (version === 5 ? 1 : 0), 2), qos: 0, retain: false, dup: false });
  add('> 16 KB payload (3-byte varint)', { topic: 'big', payload: big16k, qos: 1, retain: false, dup: false, messageId: 1000 });
  add('> 2 MB payload (4-byte varint)', { topic: 'huge', payload: big2m, qos: 2, retain: true, dup: false, messageId: 3 });
  add('UTF-8 2-byte topic', { topic: 'température/é', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
  add('UTF-8 3-byte topic', { topic: '温度/传感器/1', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, messageId: 5 });
  add('UTF-8 4-byte topic', { topic: 'emoji/😀/🚀', payload: Buffer.from('😀'), qos: 2, retain: false, dup: false, messageId: 6 });
  add('$SYS topic', { topic: '$SYS/brokers', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
  add('topic with empty levels', { topic: '/a//b/', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
  add('long topic', { topic: 'l/'.repeat(2000) + 'end', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, messageId: 77 });
}

const v5PropCases: PubCase[] = [
  { name: 'user properties', version: 5, packet: { cmd: 'publish', topic: 'a', payload: Buffer.from('p'), qos: 1, retain: false, dup: false, messageId: 1, properties: { userProperties: { k: 'v', multi: ['1', '2'] } } } },
  { name: 'message expiry', version: 5, packet: { cmd: 'publish', topic: 'a', payload: Buffer.from('p'), qos: 0, retain: false, dup: false, properties: { messageExpiryInterval: 60 } } },
  { name: 'topic alias with empty topic', version: 5, packet: { cmd: 'publish', topic: '', payload: Buffer.from('p'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } } },
  { name: 'response topic + correlation data + content type', version: 5, packet: { cmd: 'publish', topic: 'req', payload: Buffer.from('p'), qos: 2, retain: true, dup: false, messageId: 9, properties: { responseTopic: 'resp', correlationData: Buffer.from([1, 2, 3]), contentType: 'text/plain', payloadFormatIndicator: true } } },
  { name: 'large payload', version: 5, packet: { cmd: 'publish', topic: 'big', payload: big16k, qos: 1, retain: false, dup: false, messageId: 2, properties: { messageExpiryInterval: 1 } } },
];

describe('parsePublish (fast path) against mqtt-packet', () => {
  for (const c of pubCases) {
    it(c.name, () => {
      const buf = gen(c.packet, c.version);
      const ref = refParse(buf, c.version) as IPublishPacket;
      const got = fast(buf, c.version);
      assert.ok(got, 'the fast path handles a PUBLISH without properties');
      assert.deepEqual(publishFields(got), publishFields(ref));
      // and both equal what was generated
      assert.deepEqual(publishFields(got), publishFields(c.packet));
      assert.equal(got.properties, undefined);
    });
  }

  for (const c of v5PropCases) {
    it(`v5 with properties (${c.name}) is left to mqtt-packet`, () => {
      const buf = gen(c.packet, 5);
      assert.equal(fast(buf, 5), undefined);
      // and mqtt-packet (through decodePacket) gets the whole packet right
      const pkt = decodePacket(buf, 5) as IPublishPacket;
      assert.deepEqual(publishFields(pkt), publishFields(c.packet));
      assert.deepEqual({ ...pkt.properties }, { ...(refParse(buf, 5) as IPublishPacket).properties });
    });
  }

  it('parses a PUBLISH in the middle of a larger buffer (offset, following bytes ignored)', () => {
    const pkt: IPublishPacket = { cmd: 'publish', topic: 'mid/dle', payload: Buffer.from('payload'), qos: 1, retain: true, dup: false, messageId: 300 };
    for (const version of [4, 5] as ProtocolVersion[]) {
      const one = gen(pkt, version);
      const buf = Buffer.concat([Buffer.from([0xc0, 0x00, 0xff]), one, gen({ cmd: 'pingreq' }, version)]);
      const frame = { length: 0 };
      const hl = readFrame(buf, 3, frame);
      assert.equal(hl, 2);
      const got = parsePublish(buf, 3, hl, frame.length, version === 5, newCache());
      assert.ok(got);
      assert.deepEqual(publishFields(got), publishFields(pkt));
    }
  });

  it('the topic cache: hits reuse the string, misses never return a stale topic', () => {
    const cache = newCache();
    const pub = (topic: string) => gen({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false }, 4);
    const first = fast(pub('ab/cd'), 4, cache)!.topic;
    assert.equal(first, 'ab/cd');
    assert.equal(fast(pub('ab/cd'), 4, cache)!.topic, 'ab/cd');
    assert.equal(fast(pub('ab/ce'), 4, cache)!.topic, 'ab/ce', 'same length, different bytes');
    assert.equal(fast(pub('ab/cd'), 4, cache)!.topic, 'ab/cd');
    assert.equal(fast(pub('ab/c'), 4, cache)!.topic, 'ab/c', 'a prefix of the cached topic');
    assert.equal(fast(pub('ab/cdd'), 4, cache)!.topic, 'ab/cdd', 'the cached topic is a prefix');
    assert.equal(fast(pub('é'), 4, cache)!.topic, 'é');
    assert.equal(fast(pub('Ã©'), 4, cache)!.topic, 'Ã©', 'latin1 look-alike of the cached UTF-8 bytes');
    const long = 'x/'.repeat(200);
    assert.equal(fast(pub(long), 4, cache)!.topic, long);
    assert.equal(fast(pub(long + 'y'), 4, cache)!.topic, long + 'y');
    // the cache keeps its own copy: reusing the input buffer does not corrupt it
    const buf = pub('zz/top');
    assert.equal(fast(buf, 4, cache)!.topic, 'zz/top');
    buf.write('yy', 4, 'latin1');
    assert.equal(fast(buf, 4, cache)!.topic, 'yy/top');
    assert.equal(fast(pub('zz/top'), 4, cache)!.topic, 'zz/top');
    // an invalid topic is not cached and still rejected the second time
    const bad = Buffer.from([0x30, 0x04, 0x00, 0x02, 0xc3, 0x28]);
    assert.throws(() => parsePublish(bad, 0, 2, 4, false, cache), MalformedPacketError);
    assert.throws(() => parsePublish(bad, 0, 2, 4, false, cache), MalformedPacketError);
  });

  it('the payload is a view of the input (no copy)', () => {
    const buf = gen({ cmd: 'publish', topic: 't', payload: Buffer.from('abc'), qos: 0, retain: false, dup: false }, 4);
    const got = fast(buf, 4)!;
    assert.equal((got.payload as Buffer).buffer, buf.buffer);
  });

  const malformed: [string, Buffer, boolean][] = [
    ['QoS 3', Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]), false],
    ['remaining length < 2', Buffer.from([0x30, 0x01, 0x00]), false],
    ['topic longer than the packet', Buffer.from([0x30, 0x04, 0x00, 0x05, 0x61, 0x62]), false],
    ['QoS 1 without room for the packet id', Buffer.from([0x32, 0x04, 0x00, 0x01, 0x61, 0x00]), false],
    ['invalid UTF-8 topic', Buffer.from([0x30, 0x04, 0x00, 0x02, 0xc3, 0x28]), false],
    ['overlong UTF-8 topic', Buffer.from([0x30, 0x04, 0x00, 0x02, 0xc0, 0xaf]), false],
    ['lone surrogate in topic', Buffer.from([0x30, 0x05, 0x00, 0x03, 0xed, 0xa0, 0x80]), false],
    ['v5 without the properties length', Buffer.from([0x30, 0x03, 0x00, 0x01, 0x61]), true],
    ['v5 QoS 1 without the properties length', Buffer.from([0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]), true],
  ];
  for (const [name, buf, v5] of malformed) {
    it(`rejects ${name} with MalformedPacketError`, () => {
      const frame = { length: 0 };
      const hl = readFrame(buf, 0, frame);
      assert.equal(hl + frame.length, buf.length);
      assert.throws(() => parsePublish(buf, 0, hl, frame.length, v5, newCache()), MalformedPacketError);
    });
  }

  it('random PUBLISH packets (seeded) agree with mqtt-packet', () => {
    const rnd = prng(0x5eed);
    const chars = ['a', 'b', '/', 'é', '温', '😀', '$', ' ', '0'];
    // one topic cache across all cases, as one connection keeps it: many repeats and
    // same-length neighbours exercise its hits and misses
    const cache = newCache();
    let topic = 'a';
    for (let i = 0; i < 2000; i++) {
      const version = ([3, 4, 5] as const)[Math.floor(rnd() * 3)]!;
      const qos = Math.floor(rnd() * 3) as QoS;
      if (rnd() < 0.6) {
        topic = '';
        const tl = 1 + Math.floor(rnd() * (rnd() < 0.8 ? 3 : 300));
        for (let k = 0; k < tl; k++) topic += chars[Math.floor(rnd() * chars.length)];
      }
      const payload = Buffer.alloc(Math.floor(rnd() * (rnd() < 0.05 ? 40000 : 300)));
      for (let k = 0; k < payload.length; k++) payload[k] = Math.floor(rnd() * 256);
      const packet: IPublishPacket = { cmd: 'publish', topic, payload, qos, retain: rnd() < 0.5, dup: qos > 0 && rnd() < 0.5, messageId: qos > 0 ? 1 + Math.floor(rnd() * 65535) : undefined };
      const buf = gen(packet, version);
      const got = fast(buf, version, cache);
      assert.ok(got);
      assert.deepEqual(publishFields(got), publishFields(refParse(buf, version) as IPublishPacket), `case ${i}`);
      assert.equal(got.topic, topic, `case ${i}`);
    }
  });

  it('random corruptions (seeded): the fast path accepts exactly what mqtt-packet accepts, with the same fields', () => {
    const rnd = prng(77);
    const cache = newCache();
    let agreed = 0;
    for (let i = 0; i < 3000; i++) {
      const version = ([4, 5] as const)[Math.floor(rnd() * 2)]!;
      const qos = Math.floor(rnd() * 3) as QoS;
      const packet: IPublishPacket = { cmd: 'publish', topic: 'ab/cd', payload: Buffer.from('xyz'), qos, retain: false, dup: false, messageId: qos > 0 ? 10 : undefined };
      const good = gen(packet, version);
      // corrupt one byte of the variable header / payload, keep the framing intact
      const buf = Buffer.from(good);
      const at = 2 + Math.floor(rnd() * (buf.length - 2));
      buf[at] = Math.floor(rnd() * 256);
      let ref: IPublishPacket | Error;
      try {
        ref = refParse(buf, version) as IPublishPacket;
      } catch (err) {
        ref = err as Error;
      }
      let got: IPublishPacket | undefined | Error;
      try {
        got = fast(buf, version, cache);
      } catch (err) {
        assert.ok(err instanceof MalformedPacketError, `case ${i}: only MalformedPacketError escapes, got ${String(err)}`);
        got = err;
      }
      if (got === undefined) continue; // v5 properties: left to mqtt-packet
      if (got instanceof Error) {
        if (!(ref instanceof Error)) {
          // the fast path is stricter than mqtt-packet in three places only: a topic that is
          // not UTF-8 (mqtt-packet decodes it lossily), a packet id cut short (mqtt-packet
          // reports messageId -1) and a v5 packet without its properties length
          const tl = buf.readUInt16BE(2);
          const lossyTopic = !Buffer.from(ref.topic).equals(buf.subarray(4, 4 + tl));
          const badId = ref.messageId === -1;
          const noProps = version === 5 && 4 + tl + (qos > 0 ? 2 : 0) >= buf.length;
          assert.ok(lossyTopic || badId || noProps, `case ${i}: fast path rejected ${buf.toString('hex')} that mqtt-packet accepts`);
        }
        continue;
      }
      assert.ok(!(ref instanceof Error), `case ${i}: fast path accepted ${buf.toString('hex')} that mqtt-packet rejects (${String(ref)})`);
      assert.deepEqual(publishFields(got), publishFields(ref), `case ${i}: ${buf.toString('hex')}`);
      agreed++;
    }
    assert.ok(agreed > 1000, `only ${agreed} cases compared`);
  });
});

describe('PublishEncoder', () => {
  const topics = ['a/b', 'température', '😀/x', '$SYS/y', 'l/'.repeat(100)];
  const payloads = [Buffer.alloc(0), Buffer.from('hello'), big16k, bin];
  for (const v5 of [false, true]) {
    for (const qos of [0, 1, 2] as QoS[]) {
      for (const retain of [false, true]) {
        it(`v${v5 ? 5 : 4} qos${qos}${retain ? ' retain' : ''}: encode/withId parse with mqtt-packet`, () => {
          const version: ProtocolVersion = v5 ? 5 : 4;
          for (const topic of topics) {
            for (const payload of payloads) {
              const enc = new PublishEncoder(topic, payload);
              const base = enc.encode(qos, retain, v5);
              assert.equal(enc.encode(qos, retain, v5), base, 'a variant is built once');
              const p0 = refParse(base, version) as IPublishPacket;
              assert.deepEqual(publishFields(p0), { cmd: 'publish', topic, payload, qos, retain, dup: false, messageId: qos > 0 ? 0 : undefined });
              if (v5) assert.deepEqual({ ...p0.properties }, {}, 'v5: empty properties');
              // mqtt-packet itself encodes it the same way (modulo the packet id)
              if (qos === 0) assert.deepEqual(base, gen({ cmd: 'publish', topic, payload, qos, retain, dup: false }, version));
              else assert.deepEqual(enc.withId(qos, retain, v5, 1, false), gen({ cmd: 'publish', topic, payload, qos, retain, dup: false, messageId: 1 }, version));
              if (qos > 0) {
                for (const [id, dup] of [
                  [1, false],
                  [0x1234, true],
                  [65535, false],
                  [256, true],
                ] as [number, boolean][]) {
                  const out = enc.withId(qos, retain, v5, id, dup);
                  assert.notEqual(out, base);
                  const p = refParse(out, version) as IPublishPacket;
                  assert.deepEqual(publishFields(p), { cmd: 'publish', topic, payload, qos, retain, dup, messageId: id });
                  // the fast path reads it back too
                  assert.deepEqual(publishFields(fast(out, version)!), publishFields(p));
                }
                // withId must not touch the shared base
                assert.equal(base[0]! & 8, 0);
                assert.equal((refParse(base, version) as IPublishPacket).messageId, 0);
              }
            }
          }
        });
      }
    }
  }

  it('a 2 MB payload gets a 4-byte remaining length', () => {
    const enc = new PublishEncoder('huge', big2m);
    const out = enc.withId(1, false, true, 99, false);
    const frame = { length: 0 };
    assert.equal(readFrame(out, 0, frame), 5);
    assert.equal(frame.length + 5, out.length);
    const p = refParse(out, 5) as IPublishPacket;
    assert.equal(p.messageId, 99);
    assert.ok(Buffer.from(p.payload as Buffer).equals(big2m));
  });

  it('variants of one encoder are independent', () => {
    const enc = new PublishEncoder('t', Buffer.from('x'));
    const seen = new Set<Buffer>();
    for (const qos of [0, 1, 2] as QoS[]) for (const r of [false, true]) for (const v5 of [false, true]) seen.add(enc.encode(qos, r, v5));
    assert.equal(seen.size, 12);
  });
});

describe('readFrame', () => {
  const lengths = [0, 1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455];
  for (const n of lengths) {
    it(`remaining length ${n}`, () => {
      const header = Buffer.from([0x30, ...varint(n)]);
      const frame = { length: -1 };
      assert.equal(readFrame(header, 0, frame), header.length);
      assert.equal(frame.length, n);
      // every strict prefix is incomplete
      for (let cut = 0; cut < header.length; cut++) assert.equal(readFrame(header.subarray(0, cut), 0, frame), FRAME_INCOMPLETE, `cut at ${cut}`);
    });
  }

  it('five continuation bytes are malformed', () => {
    const frame = { length: 0 };
    assert.equal(readFrame(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]), 0, frame), FRAME_MALFORMED);
    assert.equal(readFrame(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]), 0, frame), FRAME_MALFORMED);
    assert.equal(readFrame(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]), 0, frame), FRAME_MALFORMED, 'the 4th byte continues: malformed without waiting');
    assert.equal(readFrame(Buffer.from([0x00, 0x00, 0x30, 0x80, 0x80, 0x80, 0x80, 0x01]), 2, frame), FRAME_MALFORMED);
  });

  it('walks a stream of packets split at every position', () => {
    const packets = [
      gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'c', clean: true, keepalive: 0 }, 4),
      gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1 }] }, 4),
      gen({ cmd: 'publish', topic: 'a/b', payload: big16k, qos: 1, retain: false, dup: false, messageId: 2 }, 4),
      gen({ cmd: 'pingreq' }, 4),
      gen({ cmd: 'publish', topic: 'a/c', payload: Buffer.from('x'), qos: 0, retain: false, dup: false }, 4),
    ];
    const stream = Buffer.concat(packets);
    const cuts = [1, 2, 3, 5, 17, packets[0]!.length, packets[0]!.length + 1, stream.length - 1, stream.length - 3];
    const rnd = prng(3);
    for (let i = 0; i < 50; i++) cuts.push(1 + Math.floor(rnd() * (stream.length - 1)));
    for (const cut of cuts) {
      // a minimal re-implementation of Connection.onData's framing loop
      const out: Buffer[] = [];
      let rest = Buffer.alloc(0);
      for (const chunk of [stream.subarray(0, cut), stream.subarray(cut)]) {
        const buf = Buffer.concat([rest, chunk]);
        let off = 0;
        const frame = { length: 0 };
        for (;;) {
          const hl = readFrame(buf, off, frame);
          if (hl === FRAME_INCOMPLETE) break;
          assert.notEqual(hl, FRAME_MALFORMED);
          if (off + hl + frame.length > buf.length) break;
          out.push(buf.subarray(off, off + hl + frame.length));
          off += hl + frame.length;
        }
        rest = buf.subarray(off);
      }
      assert.equal(rest.length, 0, `cut at ${cut}`);
      assert.deepEqual(out, packets, `cut at ${cut}`);
    }
  });
});

describe('decodePacket (shared mqtt-packet parser)', () => {
  interface Case {
    name: string;
    packet: Packet;
    versions: ProtocolVersion[];
  }
  const cases: Case[] = [
    { name: 'CONNECT v3 (MQIsdp)', versions: [3], packet: { cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'v3-client', clean: true, keepalive: 30 } },
    { name: 'CONNECT v4 with username, password and will', versions: [4], packet: { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'c4', clean: false, keepalive: 60, username: 'u', password: Buffer.from('p'), will: { topic: 'w/t', payload: Buffer.from('bye'), qos: 1, retain: true } } },
    { name: 'CONNECT v4 empty client id', versions: [4], packet: { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: '', clean: true, keepalive: 0 } },
    {
      name: 'CONNECT v5 with properties and will properties',
      versions: [5],
      packet: {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 5,
        clientId: 'c5-é',
        clean: true,
        keepalive: 10,
        properties: { sessionExpiryInterval: 3600, receiveMaximum: 10, maximumPacketSize: 1000, topicAliasMaximum: 5, requestProblemInformation: false, userProperties: { a: 'b' } },
        will: { topic: 'w', payload: Buffer.from('x'), qos: 2, retain: false, properties: { willDelayInterval: 5, messageExpiryInterval: 10, contentType: 'c' } },
      },
    },
    { name: 'SUBSCRIBE', versions: [3, 4, 5], packet: { cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'a/+/c', qos: 0 }, { topic: '#', qos: 1 }, { topic: '$share/g/x', qos: 2 }] } },
    {
      name: 'SUBSCRIBE v5 options and subscription identifier',
      versions: [5],
      packet: {
        cmd: 'subscribe',
        messageId: 65535,
        subscriptions: [
          { topic: 'a', qos: 1, nl: true, rap: false, rh: 0 },
          { topic: 'b/#', qos: 2, nl: false, rap: true, rh: 1 },
          { topic: 'c/+', qos: 0, nl: true, rap: true, rh: 2 },
        ],
        properties: { subscriptionIdentifier: 268435455, userProperties: { k: ['1', '2'] } },
      },
    },
    { name: 'UNSUBSCRIBE', versions: [3, 4, 5], packet: { cmd: 'unsubscribe', messageId: 9, unsubscriptions: ['a/b', '#', '温度/+'] } },
    { name: 'UNSUBSCRIBE v5 properties', versions: [5], packet: { cmd: 'unsubscribe', messageId: 9, unsubscriptions: ['a'], properties: { userProperties: { x: 'y' } } } },
    { name: 'PUBACK', versions: [3, 4, 5], packet: { cmd: 'puback', messageId: 1 } },
    { name: 'PUBREC', versions: [3, 4, 5], packet: { cmd: 'pubrec', messageId: 2 } },
    { name: 'PUBREL', versions: [3, 4, 5], packet: { cmd: 'pubrel', messageId: 3 } },
    { name: 'PUBCOMP', versions: [3, 4, 5], packet: { cmd: 'pubcomp', messageId: 4 } },
    { name: 'PUBACK v5 reason code', versions: [5], packet: { cmd: 'puback', messageId: 1, reasonCode: 0x10 } },
    { name: 'PUBACK v5 reason code + reason string', versions: [5], packet: { cmd: 'puback', messageId: 1, reasonCode: 0x87, properties: { reasonString: 'nope' } } },
    { name: 'PUBREC v5 reason code', versions: [5], packet: { cmd: 'pubrec', messageId: 2, reasonCode: 0x80 } },
    { name: 'PUBREL v5 reason code', versions: [5], packet: { cmd: 'pubrel', messageId: 3, reasonCode: 0x92 } },
    { name: 'PUBCOMP v5 reason code', versions: [5], packet: { cmd: 'pubcomp', messageId: 4, reasonCode: 0x92, properties: { userProperties: { a: 'b' } } } },
    { name: 'PINGREQ', versions: [3, 4, 5], packet: { cmd: 'pingreq' } },
    { name: 'DISCONNECT', versions: [3, 4, 5], packet: { cmd: 'disconnect' } },
    { name: 'DISCONNECT v5 reason code and properties', versions: [5], packet: { cmd: 'disconnect', reasonCode: 0x04, properties: { sessionExpiryInterval: 0, reasonString: 'bye', userProperties: { a: 'b' } } } },
    { name: 'AUTH v5', versions: [5], packet: { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM', authenticationData: Buffer.from([1, 2]), reasonString: 'more' } } },
    { name: 'PUBLISH v5 with properties', versions: [5], packet: v5PropCases[3]!.packet },
    { name: 'PUBLISH', versions: [3, 4, 5], packet: pubCases[1]!.packet },
  ];

  for (const c of cases) {
    for (const v of c.versions) {
      it(`${c.name} (v${v})`, () => {
        const buf = gen(c.packet, v);
        const got = decodePacket(buf, v);
        assert.deepEqual(got, refParse(buf, v));
        assert.equal(got.cmd, c.packet.cmd);
        // the parts we generated come back
        const g = got as unknown as Record<string, unknown>;
        for (const [k, val] of Object.entries(c.packet)) {
          if (k === 'payload' && val !== undefined) assert.ok(Buffer.from(g[k] as Buffer).equals(val as Buffer));
          else if (k === 'will' && val) assert.equal((g.will as { topic: string }).topic, (val as { topic: string }).topic);
          else if (k === 'subscriptions') assert.deepEqual((g[k] as { topic: string; qos: number }[]).map((x) => [x.topic, x.qos]), (val as { topic: string; qos: number }[]).map((x) => [x.topic, x.qos]));
          else if (k !== 'properties' && k !== 'protocolId' && k !== 'password') assert.deepEqual(g[k], val, k);
        }
        if ('properties' in c.packet && c.packet.properties) {
          assert.deepEqual({ ...(g.properties as object) }, { ...(refParse(buf, v) as { properties: object }).properties });
          assert.ok(Object.keys(g.properties as object).length > 0);
        }
      });
    }
  }

  it('version-specific parsing follows the version argument (v5 reason codes vs v4)', () => {
    const buf = gen({ cmd: 'puback', messageId: 5, reasonCode: 0x10 }, 5);
    assert.equal((decodePacket(buf, 5) as { reasonCode?: number }).reasonCode, 0x10);
    const plain = gen({ cmd: 'puback', messageId: 5 }, 4);
    assert.equal((decodePacket(plain, 4) as { messageId?: number }).messageId, 5);
    // a CONNECT switches nothing for the next call: each call names its version
    decodePacket(gen(cases[3]!.packet, 5), 5);
    assert.deepEqual(decodePacket(gen(cases[4]!.packet, 3), 3), refParse(gen(cases[4]!.packet, 3), 3));
  });

  // Properly framed (the connection hands over whole frames) but invalid inside.
  const bad: [string, Buffer, ProtocolVersion][] = [
    ['DISCONNECT v5 with a properties length past the end', Buffer.from('e00b00251f0001781100000004', 'hex'), 5],
    ['DISCONNECT v5 with property code 0', Buffer.from([0xe0, 0x03, 0x00, 0x01, 0x00]), 5],
    ['PUBLISH v5 with an unknown property', Buffer.from([0x30, 0x06, 0x00, 0x01, 0x61, 0x02, 0x7f, 0x00]), 5],
    ['PUBLISH v5 with a truncated user property', Buffer.from([0x30, 0x07, 0x00, 0x01, 0x61, 0x04, 0x26, 0x00, 0x05]), 5],
    ['SUBSCRIBE with bad header flags', Buffer.from([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]), 4],
    ['SUBSCRIBE with reserved option bits', Buffer.from([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0xc0]), 5],
    ['SUBSCRIBE with a topic past the end', Buffer.from([0x82, 0x05, 0x00, 0x01, 0x00, 0x09, 0x61]), 4],
    ['CONNECT with a bad protocol name', Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54 ^ 1, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00]), 4],
    ['CONNECT with protocol level 9', Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x09, 0x02, 0x00, 0x00, 0x00, 0x00]), 4],
    ['CONNECT v5 with properties past the end', Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x00, 0x7f, 0x11, 0x00]), 5],
    ['CONNECT with a client id past the end', Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00, 0x00, 0x40]), 4],
    ['PUBREL with bad flags', Buffer.from([0x60, 0x02, 0x00, 0x01]), 4],
    ['PUBACK v5 with an invalid reason code', Buffer.from([0x40, 0x03, 0x00, 0x01, 0x01]), 5],
    ['AUTH with an invalid reason code', Buffer.from([0xf0, 0x02, 0x01, 0x00]), 5],
    ['reserved packet type 0', Buffer.from([0x00, 0x00]), 4],
    ['PINGREQ with flags', Buffer.from([0xc1, 0x00]), 4],
    // mqtt-packet reads these as messageId -1 without an error; decodePacket must not
    ['PUBACK with a 1-byte packet id', Buffer.from([0x40, 0x01, 0x00]), 4],
    ['PUBREL v5 with a 1-byte packet id', Buffer.from([0x62, 0x01, 0x00]), 5],
    ['PUBCOMP with no packet id', Buffer.from([0x70, 0x00]), 4],
    ['UNSUBSCRIBE with an empty topic list past the end', Buffer.from([0xa2, 0x04, 0x00, 0x01, 0x00, 0x09]), 4],
  ];

  it('invalid packets throw', () => {
    for (const [name, buf, v] of bad) {
      assert.throws(() => decodePacket(buf, v), Error, name);
      // the reference agrees that it is invalid (or yields its -1 for a packet id cut short)
      let ref: Packet | undefined;
      try {
        ref = refParse(buf, v);
      } catch {
        /* invalid */
      }
      if (ref) assert.equal((ref as { messageId?: number }).messageId, -1, `${name} (reference)`);
    }
  });

  it('an error on one packet does not break decoding of the next one', () => {
    const next = cases.flatMap((c) => c.versions.map((v) => ({ c, v, buf: gen(c.packet, v) })));
    for (const [name, buf, v] of bad) {
      for (const n of next) {
        assert.throws(() => decodePacket(buf, v), Error, name);
        let got: Packet;
        try {
          got = decodePacket(n.buf, n.v);
        } catch (err) {
          assert.fail(`after "${name}", ${n.c.name} (v${n.v}) no longer decodes: ${(err as Error).message}`);
        }
        assert.deepEqual(got, refParse(n.buf, n.v), `after "${name}": ${n.c.name} (v${n.v})`);
      }
    }
  });

  it('seeded random corruptions of framed packets never poison the shared parser', () => {
    const rnd = prng(1234);
    const valid = cases.flatMap((c) => c.versions.map((v) => ({ v, buf: gen(c.packet, v) })));
    const ping = gen({ cmd: 'pingreq' }, 4);
    const connect = gen(cases[1]!.packet, 4);
    let errors = 0;
    for (let i = 0; i < 5000; i++) {
      const { v, buf: good } = valid[Math.floor(rnd() * valid.length)]!;
      const frame = { length: 0 };
      const hl = readFrame(good, 0, frame);
      // mutate the body, then re-frame it with its real length
      const body = Array.from(good.subarray(hl));
      const n = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < n; k++) {
        const op = rnd();
        const at = Math.floor(rnd() * (body.length + 1));
        if (op < 0.5 && body.length > 0) body[Math.min(at, body.length - 1)] = Math.floor(rnd() * 256);
        else if (op < 0.7) body.splice(at, 0, Math.floor(rnd() * 256));
        else if (op < 0.85) body.splice(at, 1);
        else body.length = Math.min(body.length, at);
      }
      const first = rnd() < 0.1 ? Math.floor(rnd() * 256) : good[0]!;
      const buf = Buffer.from(encodePacketFrame(first, body));
      try {
        decodePacket(buf, v);
      } catch (err) {
        assert.ok(err instanceof Error, `case ${i}: threw a non-Error`);
        errors++;
      }
      assert.equal(decodePacket(ping, 4).cmd, 'pingreq', `case ${i}: after ${buf.toString('hex')}`);
      assert.deepEqual(decodePacket(connect, 4), refParse(connect, 4), `case ${i}: after ${buf.toString('hex')}`);
    }
    assert.ok(errors > 500, `only ${errors} of the corruptions were errors`);
  });

  it('encodePacket is mqtt-packet generate for the version', () => {
    for (const c of cases) for (const v of c.versions) assert.deepEqual(encodePacket(c.packet, v), gen(c.packet, v));
  });
});

function encodePacketFrame(first: number, body: number[]): number[] {
  const out = [first];
  let n = body.length;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 128;
    out.push(b);
  } while (n > 0);
  return out.concat(body);
}
