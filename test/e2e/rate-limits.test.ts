// STARLING_PUBLISH_RATE_LIMIT and STARLING_BYTES_RATE_LIMIT against real node processes: a
// client sending faster than its bucket allows is read no faster than the limit
// (back-pressure: every message still arrives, in order), while another client within its
// own limit is not held back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as mqttPacket from 'mqtt-packet';
import type { IPublishPacket } from 'mqtt-packet';
import { startNode, type NodeProcess } from '../support/broker.js';
import { RawClient, text, uid } from '../support/mqtt5.js';

const COUNT = 10; // messages at once
const SECONDS = 1; // refilled over this long

const KB_PER_S = 32;

let node: NodeProcess | undefined;
let bytesNode: NodeProcess | undefined;

before(async () => {
  const started = await Promise.allSettled([
    startNode({ name: 'publish-rate', env: { STARLING_PUBLISH_RATE_LIMIT: `${COUNT},${SECONDS}s` } }),
    startNode({ name: 'bytes-rate', env: { STARLING_BYTES_RATE_LIMIT: `${KB_PER_S}KB,1s` } }),
  ]);
  [node, bytesNode] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
  for (const s of started) if (s.status === 'rejected') throw s.reason;
});

after(async () => {
  await Promise.all([node?.stop(), bytesNode?.stop()]);
});

const publishes = (topic: string, from: number, n: number, qos: 0 | 1): Buffer =>
  Buffer.concat(
    Array.from({ length: n }, (_, i) =>
      mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(String(from + i)), qos, messageId: qos ? from + i + 1 : undefined, retain: false, dup: false }, { protocolVersion: 5 }),
    ),
  );

describe(`STARLING_PUBLISH_RATE_LIMIT=${COUNT},${SECONDS}s`, () => {
  it('a flooding client is throttled to the rate and loses nothing; a client within its limit is served at once', async (t) => {
    const topic = `rate/${uid()}`;
    const port = node!.mqttPort;
    const sub = await RawClient.connected(t, port, { protocolVersion: 5 });
    assert.deepEqual(await sub.subscribe([{ topic: `${topic}/#`, qos: 0 }]), [0]); // QoS 0: no inflight window to ack
    // keepalive 1: its pauses must not count as silence
    const flooder = await RawClient.connected(t, port, { protocolVersion: 5, keepalive: 1 });
    const calm = await RawClient.connected(t, port, { protocolVersion: 5 });
    const N = 4 * COUNT;
    const t0 = Date.now();
    flooder.write(publishes(`${topic}/flood`, 0, N, 1));
    // the flooder's first bucketful goes through; then it is read at the rate
    await flooder.waitUntil(() => (flooder.received.filter((p) => p.cmd === 'puback').length >= COUNT ? true : undefined), 5000, 'the first bucketful');
    // another client within its own limit is answered while the flooder waits
    calm.write(publishes(`${topic}/calm`, 0, COUNT, 1));
    await calm.waitUntil(() => (calm.received.filter((p) => p.cmd === 'puback').length === COUNT ? true : undefined), 5000, "the calm client's acks");
    const floodAcksThen = flooder.received.filter((p) => p.cmd === 'puback').length;
    assert.ok(floodAcksThen < N, `the flooder had all ${N} acknowledged before the calm client's ${COUNT}`);
    // everything arrives, in order, no faster than the limit allows
    await flooder.waitUntil(() => (flooder.received.filter((p) => p.cmd === 'puback').length === N ? true : undefined), 30_000, "all the flooder's acks");
    const elapsed = Date.now() - t0;
    const minMs = ((N - COUNT - 1) / (COUNT / SECONDS)) * 1000;
    assert.ok(elapsed >= minMs * 0.9, `${N} messages in ${elapsed} ms: faster than ${COUNT} a ${SECONDS} s after the first ${COUNT}`);
    assert.equal(flooder.isClosed, false);
    const got = (await sub.waitUntil(() => (sub.queue.length >= N + COUNT ? sub.queue.splice(0) : undefined), 5000, 'every message')) as IPublishPacket[];
    const flood = got.filter((p) => p.topic.endsWith('/flood')).map(text);
    assert.deepEqual(flood, Array.from({ length: N }, (_, i) => String(i)));
    assert.equal(got.filter((p) => p.topic.endsWith('/calm')).length, COUNT);
    console.log(`${N} messages from the flooder in ${elapsed} ms (at least ${Math.round(minMs)} ms at the limit); the calm client's ${COUNT} were acknowledged when ${floodAcksThen} of the flooder's were`);
  });

  it('the limit applies to QoS 0 too, and other packets (PINGREQ) are read in order behind the waiting PUBLISHes', async (t) => {
    const topic = `rate0/${uid()}`;
    const port = node!.mqttPort;
    const sub = await RawClient.connected(t, port, { protocolVersion: 5 });
    await sub.subscribe([{ topic, qos: 0 }]);
    const pub = await RawClient.connected(t, port, { protocolVersion: 5 });
    const N = 3 * COUNT;
    const t0 = Date.now();
    pub.write(publishes(topic, 0, N, 0));
    // its PINGRESP comes after every PUBLISH before it was read
    assert.deepEqual(await pub.sync(15_000), []);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= ((N - COUNT - 1) / (COUNT / SECONDS)) * 1000 * 0.9, `${N} QoS 0 messages read in ${elapsed} ms`);
    const got = await sub.waitUntil(() => (sub.queue.length >= N ? sub.queue.splice(0) : undefined), 5000, 'every message');
    assert.deepEqual(got.map(text), Array.from({ length: N }, (_, i) => String(i)));
  });
});

describe(`STARLING_BYTES_RATE_LIMIT=${KB_PER_S}KB,1s`, () => {
  it('a 128 KB PUBLISH is read at the rate and arrives whole; a small one from another client is not held back', async (t) => {
    const topic = `bytes/${uid()}`;
    const port = bytesNode!.mqttPort;
    const sub = await RawClient.connected(t, port, { protocolVersion: 5 });
    await sub.subscribe([{ topic: `${topic}/#`, qos: 0 }]);
    const big = await RawClient.connected(t, port, { protocolVersion: 5 });
    const small = await RawClient.connected(t, port, { protocolVersion: 5 });
    const payload = Buffer.alloc(128 * 1024, 5);
    const t0 = Date.now();
    big.send({ cmd: 'publish', topic: `${topic}/big`, payload, qos: 1, messageId: 1, retain: false, dup: false });
    small.send({ cmd: 'publish', topic: `${topic}/small`, payload: Buffer.from('small'), qos: 1, messageId: 1, retain: false, dup: false });
    assert.equal((await small.expect('puback')).messageId, 1);
    assert.equal(big.received.filter((p) => p.cmd === 'puback').length, 0, 'the big one is still being read');
    assert.equal((await big.expect('puback', 20_000)).messageId, 1);
    const elapsed = Date.now() - t0;
    // a bucketful at once, the rest at the rate
    const minMs = ((payload.length / 1024 - KB_PER_S) / KB_PER_S) * 1000;
    assert.ok(elapsed >= minMs * 0.8, `128 KB read in ${elapsed} ms`);
    const got = (await sub.waitUntil(() => (sub.queue.length >= 2 ? sub.queue.splice(0) : undefined), 5000, 'both messages')) as IPublishPacket[];
    assert.deepEqual(got.map((p) => [p.topic.split('/').pop(), p.payload.length]), [
      ['small', 5],
      ['big', payload.length],
    ]);
    console.log(`128 KB PUBLISH read in ${elapsed} ms at ${KB_PER_S} KB/s (at least ${Math.round(minMs)} ms)`);
  });
});
