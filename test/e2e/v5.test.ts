// MQTT 5 features end to end: MQTT.js (protocolVersion 5) and raw-socket clients against
// real broker processes. Every test uses its own topics and client ids, so the tests of a
// suite run concurrently against one broker.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IPublishPacket } from 'mqtt-packet';
import { startNode, type NodeProcess } from '../support/broker.js';
import { RawClient, newClient, openClient, sleep, text, uid, within } from '../support/mqtt5.js';

const MAX_PACKET_SIZE = 2048;

let node: NodeProcess | undefined;
/** A broker with a Server Keep Alive cap (it would change every client's keepalive in the main one). */
let kaNode: NodeProcess | undefined;

before(async () => {
  const started = await Promise.allSettled([
    startNode({ name: 'v5', env: { STARLING_MAX_PACKET_SIZE: String(MAX_PACKET_SIZE) } }),
    startNode({ name: 'v5-keepalive', env: { STARLING_SERVER_KEEPALIVE: '5' } }),
  ]);
  if (started[0].status === 'fulfilled') node = started[0].value;
  if (started[1].status === 'fulfilled') kaNode = started[1].value;
  for (const s of started) if (s.status === 'rejected') throw s.reason;
});

after(async () => {
  await Promise.all([node?.stop(), kaNode?.stop()]);
});

const port = (): number => node!.mqttPort;

/** The Subscription Identifier(s) of a PUBLISH as a sorted array ([] when absent). */
function subIds(p: IPublishPacket): number[] {
  const v = p.properties?.subscriptionIdentifier;
  return (v === undefined ? [] : Array.isArray(v) ? [...v] : [v]).sort((a, b) => a - b);
}


describe('MQTT 5 subscription options', { concurrency: true }, () => {
  it('No Local: a client does not get its own messages back, others do', async (t) => {
    const topic = `nl/${uid()}`;
    const a = await openClient(t, port());
    const b = await openClient(t, port());
    await a.subscribe(topic, { qos: 1, nl: true });
    await b.subscribe(topic, { qos: 1 });
    await a.publish(topic, 'from-a', { qos: 1 });
    await b.publish(topic, 'from-b', { qos: 1 });
    // b subscribed without No Local: it gets both, its own included
    assert.deepEqual((await b.take(2)).map((m) => m.payload), ['from-a', 'from-b']);
    // a's own message was routed first; had it been echoed it would precede from-b
    assert.deepEqual((await a.settle()).map((m) => m.payload), ['from-b']);
  });

  it('Retain As Published: the retain flag is kept on live delivery only with rap', async (t) => {
    const topic = `rap/${uid()}`;
    const rap = await openClient(t, port());
    const plain = await openClient(t, port());
    const pub = await openClient(t, port());
    await rap.subscribe(topic, { qos: 1, rap: true });
    await plain.subscribe(topic, { qos: 1, rap: false });
    await pub.publish(topic, 'live', { qos: 1, retain: true });
    const [r] = await rap.take(1);
    const [p] = await plain.take(1);
    assert.equal(r!.payload, 'live');
    assert.equal(r!.packet.retain, true);
    assert.equal(p!.payload, 'live');
    assert.equal(p!.packet.retain, false);
    // a retained message sent because of a new subscription has the flag either way
    const late = await openClient(t, port());
    await late.subscribe(topic, { qos: 1, rap: false });
    const m = await late.next();
    assert.equal(m.payload, 'live');
    assert.equal(m.packet.retain, true);
  });

  it('Retain Handling 0 sends retained messages on every subscribe, 1 only for a new subscription, 2 never', async (t) => {
    const topic = `rh/${uid()}`;
    const pub = await openClient(t, port());
    await pub.publish(topic, 'kept', { qos: 1, retain: true });

    const c0 = await openClient(t, port());
    await c0.subscribe(topic, { qos: 1, rh: 0 });
    assert.deepEqual((await c0.settle()).map((m) => [m.payload, m.packet.retain]), [['kept', true]]);
    await c0.subscribe(topic, { qos: 1, rh: 0 });
    assert.deepEqual((await c0.settle()).map((m) => [m.payload, m.packet.retain]), [['kept', true]]);

    const c1 = await openClient(t, port());
    await c1.subscribe(topic, { qos: 1, rh: 1 });
    assert.deepEqual((await c1.settle()).map((m) => [m.payload, m.packet.retain]), [['kept', true]]);
    await c1.subscribe(topic, { qos: 1, rh: 1 }); // the subscription exists already
    assert.deepEqual(await c1.settle(), []);

    const c2 = await openClient(t, port());
    await c2.subscribe(topic, { qos: 1, rh: 2 });
    assert.deepEqual(await c2.settle(), []);
    // live messages still come
    await pub.publish(topic, 'live', { qos: 1 });
    assert.equal((await c2.next()).payload, 'live');
  });

  it('overlapping subscriptions deliver one copy, at their highest QoS, carrying every matching Subscription Identifier [MQTT-3.3.4-2, MQTT-3.3.4-4]', async (t) => {
    const base = `sid/${uid()}`;
    const sub = await openClient(t, port());
    const pub = await openClient(t, port());
    assert.equal(sub.connack!.properties?.subscriptionIdentifiersAvailable, true);
    await sub.subscribe(`${base}/+`, { qos: 0, properties: { subscriptionIdentifier: 7 } });
    await sub.subscribe(`${base}/#`, { qos: 1, properties: { subscriptionIdentifier: 300 } }); // a two-byte varint
    await sub.subscribe(`${base}/x`, { qos: 2 }); // no identifier
    await pub.publish(`${base}/x`, 'hello', { qos: 2 });
    const [one] = await sub.take(1);
    assert.deepEqual([one!.payload, one!.packet.qos, subIds(one!.packet)], ['hello', 2, [7, 300]]);
    assert.deepEqual(await sub.settle(), []);
    // two of them, with the same QoS as the message
    await pub.publish(`${base}/z`, 'two', { qos: 1 });
    const [two] = await sub.take(1);
    assert.deepEqual([two!.payload, two!.packet.qos, subIds(two!.packet)], ['two', 1, [7, 300]]);
    assert.deepEqual(await sub.settle(), []);
    // a topic matched by one subscription only carries that one's identifier (below)
    await pub.publish(`${base}/y/z`, 'deep', { qos: 1 });
    const deep = await sub.next();
    assert.equal(deep.payload, 'deep');
    assert.deepEqual(subIds(deep.packet), [300]);
    assert.deepEqual(await sub.settle(), []);
    // retained messages sent for a new subscription carry its identifier too
    await pub.publish(`${base}/r`, 'kept', { qos: 1, retain: true });
    await sub.settle(); // its live copies, through the '+' and '#' subscriptions
    await sub.subscribe(`${base}/r`, { qos: 1, properties: { subscriptionIdentifier: 42 } });
    const kept = await sub.next();
    assert.deepEqual([kept.payload, kept.packet.retain, subIds(kept.packet)], ['kept', true, [42]]);
  });
});

describe('MQTT 5 overlapping subscriptions', { concurrency: true }, () => {
  it('No Local and Retain As Published: only the subscriptions that take the message shape its one copy', async (t) => {
    const base = `ovl/${uid()}`;
    const a = await openClient(t, port());
    await a.subscribe(`${base}/+`, { qos: 2, nl: true, properties: { subscriptionIdentifier: 1 } });
    await a.subscribe(`${base}/#`, { qos: 1, rap: true, properties: { subscriptionIdentifier: 2 } });
    // its own message: the No Local subscription takes no part
    await a.publish(`${base}/x`, 'own', { qos: 2, retain: true });
    const [own] = await a.take(1);
    assert.deepEqual([own!.payload, own!.packet.qos, own!.packet.retain, subIds(own!.packet)], ['own', 1, true, [2]]);
    assert.deepEqual(await a.settle(), []);
    // another's: both, retain kept (one of them is Retain As Published)
    const b = await openClient(t, port());
    await b.publish(`${base}/y`, 'other', { qos: 2, retain: true });
    const [other] = await a.take(1);
    assert.deepEqual([other!.payload, other!.packet.qos, other!.packet.retain, subIds(other!.packet)], ['other', 2, true, [1, 2]]);
    assert.deepEqual(await a.settle(), []);
    await b.publish(`${base}/x`, '', { qos: 1, retain: true });
    await b.publish(`${base}/y`, '', { qos: 1, retain: true });
  });

  it('a message queued for an offline session keeps its one copy and identifiers', async (t) => {
    const base = `ovq/${uid()}`;
    const opts = { clientId: `ovq-${uid()}`, clean: false, properties: { sessionExpiryInterval: 60 } };
    const s1 = await openClient(t, port(), opts);
    await s1.subscribe(`${base}/+`, { qos: 1, properties: { subscriptionIdentifier: 11 } });
    await s1.subscribe(`${base}/#`, { qos: 1, properties: { subscriptionIdentifier: 12 } });
    await s1.disconnect();
    const pub = await openClient(t, port());
    await pub.publish(`${base}/q`, 'queued', { qos: 1 });
    const s2 = newClient(t, port(), opts);
    assert.equal((await within(s2.connected, 5000, 'reconnect')).sessionPresent, true);
    const [m] = await s2.take(1);
    assert.deepEqual([m!.payload, subIds(m!.packet)], ['queued', [11, 12]]);
    assert.deepEqual(await s2.settle(), []);
  });
});

describe('MQTT 5 topic aliases and flow control', { concurrency: true }, () => {
  it('topic alias client → broker: set with a topic, then used with an empty topic, then remapped', async (t) => {
    const t1 = `ta/in/${uid()}`;
    const t2 = `ta/in/${uid()}`;
    const sub = await openClient(t, port());
    await sub.subscribe([t1, t2], { qos: 1 });
    const pub = await openClient(t, port());
    assert.equal(pub.connack!.properties?.topicAliasMaximum, 65535);
    const sent: { topic: string; alias: unknown }[] = [];
    pub.mqtt.on('packetsend', (p) => {
      if (p.cmd === 'publish') sent.push({ topic: String(p.topic), alias: p.properties?.topicAlias });
    });
    await pub.publish(t1, 'one', { qos: 1, properties: { topicAlias: 1 } });
    await pub.publish('', 'two', { qos: 1, properties: { topicAlias: 1 } });
    await pub.publish(t2, 'three', { qos: 1, properties: { topicAlias: 1 } }); // alias 1 now means t2
    await pub.publish('', 'four', { qos: 1, properties: { topicAlias: 1 } });
    assert.deepEqual(sent, [
      { topic: t1, alias: 1 },
      { topic: '', alias: 1 },
      { topic: t2, alias: 1 },
      { topic: '', alias: 1 },
    ]);
    const got = await sub.take(4);
    assert.deepEqual(
      got.map((m) => [m.topic, m.payload]),
      [
        [t1, 'one'],
        [t1, 'two'],
        [t2, 'three'],
        [t2, 'four'],
      ],
    );
  });

  it('topic alias client → broker: an unknown alias with an empty topic gets DISCONNECT 0x82, alias 0 gets 0x94', async (t) => {
    const raw = await RawClient.connected(t, port());
    raw.send({ cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 9 } });
    const d = await raw.expect('disconnect');
    assert.equal(d.reasonCode, 0x82);
    await raw.waitClosed();
    const zero = await RawClient.connected(t, port());
    zero.send({ cmd: 'publish', topic: `ta/${uid()}`, payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 0 } });
    assert.equal((await zero.expect('disconnect')).reasonCode, 0x94);
    await zero.waitClosed();
  });

  it('topic alias broker → client: the second delivery of a topic uses the alias the first one set', async (t) => {
    const topic = `ta/out/${uid()}`;
    const sub = await openClient(t, port(), { properties: { topicAliasMaximum: 5 } });
    const pub = await openClient(t, port());
    await sub.subscribe(topic, { qos: 1 });
    await pub.publish(topic, 'a', { qos: 1 });
    await pub.publish(topic, 'b', { qos: 1 });
    await pub.publish(topic, 'c', { qos: 1 });
    // MQTT.js resolves the alias for its 'message' event ...
    assert.deepEqual(
      (await sub.take(3)).map((m) => [m.topic, m.payload]),
      [
        [topic, 'a'],
        [topic, 'b'],
        [topic, 'c'],
      ],
    );
    // ... the packets as received show what the broker sent
    const wire = sub.packets.filter((p): p is IPublishPacket => p.cmd === 'publish').map((p) => [p.topic, p.properties?.topicAlias, text(p)]);
    assert.deepEqual(wire, [
      [topic, 1, 'a'],
      ['', 1, 'b'],
      ['', 1, 'c'],
    ]);
  });

  it('topic alias broker → client: none without a client Topic Alias Maximum', async (t) => {
    const topic = `ta/none/${uid()}`;
    const sub = await openClient(t, port());
    const pub = await openClient(t, port());
    await sub.subscribe(topic, { qos: 0 });
    await pub.publish(topic, 'a', { qos: 1 });
    await pub.publish(topic, 'b', { qos: 1 });
    await sub.take(2);
    const wire = sub.packets.filter((p): p is IPublishPacket => p.cmd === 'publish').map((p) => [p.topic, p.properties?.topicAlias]);
    assert.deepEqual(wire, [
      [topic, undefined],
      [topic, undefined],
    ]);
  });

  it('Receive Maximum 2: at most 2 unacknowledged QoS 1 PUBLISH in flight; acks release the rest in order', async (t) => {
    const topic = `rm/${uid()}`;
    const raw = await RawClient.connected(t, port(), { properties: { receiveMaximum: 2 } });
    assert.deepEqual(await raw.subscribe([{ topic, qos: 1 }, { topic: `${topic}/sync`, qos: 0 }]), [1, 0]);
    const pub = await openClient(t, port());
    for (let i = 0; i < 5; i++) await pub.publish(topic, `m${i}`, { qos: 1 });
    // QoS 0 is not held back by the window: once it arrives, everything routed before it has too
    await pub.publish(`${topic}/sync`, 'sync', { qos: 0 });
    const first = await raw.waitUntil(
      () => {
        const i = raw.queue.findIndex((p) => p.cmd === 'publish' && p.topic === `${topic}/sync`);
        return i >= 0 ? raw.queue.splice(0, i + 1).slice(0, -1) : undefined;
      },
      5000,
      'waiting for the QoS 0 sync message',
    );
    assert.deepEqual(await raw.sync(), []);
    const pubs = first as IPublishPacket[];
    assert.deepEqual(
      pubs.map((p) => [p.cmd, p.qos, text(p)]),
      [
        ['publish', 1, 'm0'],
        ['publish', 1, 'm1'],
      ],
    );
    // one ack, one more message
    raw.send({ cmd: 'puback', messageId: pubs[0]!.messageId! });
    const third = await raw.expect('publish');
    assert.equal(text(third), 'm2');
    assert.deepEqual(await raw.sync(), []);
    raw.send({ cmd: 'puback', messageId: pubs[1]!.messageId! });
    raw.send({ cmd: 'puback', messageId: third.messageId! });
    const rest = [await raw.expect('publish'), await raw.expect('publish')];
    assert.deepEqual(rest.map(text), ['m3', 'm4']);
    for (const p of rest) raw.send({ cmd: 'puback', messageId: p.messageId! });
    assert.deepEqual(await raw.sync(), []);
  });

  it('the broker\'s Receive Maximum (100): a 101st unreleased QoS 2 PUBLISH gets DISCONNECT 0x93', async (t) => {
    const raw = await RawClient.open(t, port());
    const ack = await raw.connect({});
    assert.equal(ack.properties?.receiveMaximum, 100);
    const topic = `rmx/${uid()}`;
    for (let id = 1; id <= 100; id++) raw.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 2, messageId: id, retain: false, dup: false });
    for (let id = 1; id <= 100; id++) assert.equal((await raw.expect('pubrec')).messageId, id);
    raw.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 2, messageId: 101, retain: false, dup: false });
    assert.equal((await raw.expect('disconnect')).reasonCode, 0x93);
    await raw.waitClosed();
  });

  it('client Maximum Packet Size 100: a larger message is not delivered, a small one is', async (t) => {
    const topic = `mps/${uid()}`;
    const sub = await openClient(t, port(), { properties: { maximumPacketSize: 100 } });
    const pub = await openClient(t, port());
    await sub.subscribe(topic, { qos: 1 });
    await pub.publish(topic, 'x'.repeat(500), { qos: 1 });
    await pub.publish(topic, 'small', { qos: 1 });
    // in order: had the 500-byte message been sent, it would come first
    assert.equal((await sub.next()).payload, 'small');
    assert.deepEqual(await sub.settle(), []);
    // QoS 0 too
    await pub.publish(topic, 'y'.repeat(500), { qos: 0 });
    await pub.publish(topic, 'small0', { qos: 1 });
    assert.equal((await sub.next()).payload, 'small0');
  });

  it('a message dropped for the client Maximum Packet Size does not use up a topic alias', async (t) => {
    const topic = `mps/alias/${uid()}`;
    const sub = await openClient(t, port(), { properties: { maximumPacketSize: 100, topicAliasMaximum: 5 } });
    const pub = await openClient(t, port());
    await sub.subscribe(topic, { qos: 1 });
    await pub.publish(topic, 'x'.repeat(500), { qos: 1 }); // too large: dropped
    await pub.publish(topic, 'first', { qos: 1 });
    await pub.publish(topic, 'second', { qos: 1 });
    assert.deepEqual(
      (await sub.take(2)).map((m) => [m.topic, m.payload]),
      [
        [topic, 'first'],
        [topic, 'second'],
      ],
    );
    // the first packet the client sees for the topic must name it; only later ones may use the alias alone
    const wire = sub.packets.filter((p): p is IPublishPacket => p.cmd === 'publish').map((p) => [p.topic, p.properties?.topicAlias, text(p)]);
    assert.deepEqual(wire, [
      [topic, 1, 'first'],
      ['', 1, 'second'],
    ]);
    assert.deepEqual(sub.errors, []);
  });

  it(`a PUBLISH over the broker's maximum packet size (${MAX_PACKET_SIZE}) gets DISCONNECT 0x95; others keep working`, async (t) => {
    const topic = `big/${uid()}`;
    const watcher = await openClient(t, port());
    await watcher.subscribe(topic, { qos: 1 });
    const victim = await RawClient.open(t, port());
    const ack = await victim.connect({});
    assert.equal(ack.reasonCode, 0);
    assert.equal(ack.properties?.maximumPacketSize, MAX_PACKET_SIZE);
    // just under the limit is fine
    victim.send({ cmd: 'publish', topic, payload: Buffer.alloc(MAX_PACKET_SIZE - 100, 1), qos: 1, messageId: 1, retain: false, dup: false });
    const ok = await victim.expect('puback');
    assert.equal(ok.messageId, 1);
    assert.equal(ok.reasonCode ?? 0, 0);
    assert.equal((await watcher.next()).payload.length, MAX_PACKET_SIZE - 100);
    // over it: DISCONNECT Packet too large, then the broker closes
    victim.send({ cmd: 'publish', topic, payload: Buffer.alloc(MAX_PACKET_SIZE + 500, 2), qos: 1, messageId: 2, retain: false, dup: false });
    const d = await victim.expect('disconnect');
    assert.equal(d.reasonCode, 0x95);
    await victim.waitClosed();
    assert.equal(victim.queue.length, 0);
    // everyone else is fine, and the big message was never routed
    const other = await openClient(t, port());
    await other.publish(topic, 'still-here', { qos: 1 });
    assert.equal((await watcher.next()).payload, 'still-here');
  });
});

describe('MQTT 5 session expiry beyond 24.8 days (Node timers hold 2^31-1 ms)', { concurrency: true }, () => {
  const DAYS_30 = 30 * 24 * 3600;
  const offlineQueueSurvives = async (t: { after(fn: () => unknown): void }, connectExpiry: number, disconnectExpiry: number | undefined): Promise<void> => {
    const topic = `longexp/${uid()}`;
    const opts = { clientId: `longexp-${uid()}`, clean: false, properties: { sessionExpiryInterval: connectExpiry } };
    const s1 = await openClient(t, port(), opts);
    await s1.subscribe(topic, { qos: 1 });
    await s1.disconnect(disconnectExpiry === undefined ? undefined : { sessionExpiryInterval: disconnectExpiry });
    const pub = await openClient(t, port());
    // PUBACK 0, not 0x10 No matching subscribers: the offline session still holds the subscription
    assert.equal(await pub.publishRc(topic, 'kept', { qos: 1 }), 0);
    // an overflowing timer fires after 1 ms: by now it would have ended the session
    await sleep(50);
    const s2 = newClient(t, port(), opts);
    const ack = await within(s2.connected, 5000, 'reconnect');
    assert.equal(ack.sessionPresent, true, 'the session did not expire at once');
    assert.deepEqual((await s2.take(1)).map((m) => m.payload), ['kept']);
  };

  it('a session expiry interval of 30 days set at CONNECT keeps the session and its queue', (t) => offlineQueueSurvives(t, DAYS_30, undefined));
  it('a DISCONNECT raising the interval to 30 days keeps the session and its queue', (t) => offlineQueueSurvives(t, 60, DAYS_30));
  it('the longest finite interval, 0xFFFFFFFE seconds, keeps the session too', (t) => offlineQueueSurvives(t, 0xfffffffe, undefined));
});

describe('MQTT 5 message properties', { concurrency: true }, () => {
  it('Message Expiry: a queued message that expired is not delivered; others carry the remaining interval', async (t) => {
    const topic = `exp/${uid()}`;
    const opts = { clientId: `exp-${uid()}`, clean: false, properties: { sessionExpiryInterval: 60 } };
    const s1 = await openClient(t, port(), opts);
    await s1.subscribe(topic, { qos: 1 });
    await s1.disconnect();
    const pub = await openClient(t, port());
    // retained messages expire too
    await pub.publish(`${topic}/r1`, 'retained-short', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    await pub.publish(`${topic}/r60`, 'retained-long', { qos: 1, retain: true, properties: { messageExpiryInterval: 60 } });
    // PUBACK 0 (not 0x10): the offline session's subscription took them
    assert.equal(await pub.publishRc(topic, 'short', { qos: 1, properties: { messageExpiryInterval: 1 } }), 0);
    assert.equal(await pub.publishRc(topic, 'long', { qos: 1, properties: { messageExpiryInterval: 60 } }), 0);
    assert.equal(await pub.publishRc(topic, 'forever', { qos: 1 }), 0);
    await sleep(2100); // time itself must pass for 'short' to expire
    const s2 = newClient(t, port(), opts);
    const ack = await within(s2.connected, 5000, 'reconnect');
    assert.equal(ack.sessionPresent, true);
    const got = await s2.take(2);
    assert.deepEqual(got.map((m) => m.payload), ['long', 'forever']);
    const remaining = got[0]!.packet.properties?.messageExpiryInterval;
    assert.ok(remaining !== undefined && remaining >= 57 && remaining <= 58, `remaining expiry interval ${remaining}, expected 57..58`);
    assert.equal(got[1]!.packet.properties?.messageExpiryInterval, undefined);
    assert.deepEqual(await s2.settle(), []);
    await s2.subscribe(`${topic}/+`, { qos: 1 });
    const retained = await s2.settle();
    assert.deepEqual(retained.map((m) => [m.payload, m.packet.retain]), [['retained-long', true]]);
    const left = retained[0]!.packet.properties?.messageExpiryInterval;
    assert.ok(left !== undefined && left >= 57 && left <= 58, `retained message's remaining expiry interval ${left}, expected 57..58`);
  });

  it('user properties, response topic, correlation data, content type and payload format indicator pass through', async (t) => {
    const topic = `props/${uid()}`;
    const sub = await openClient(t, port());
    const pub = await openClient(t, port());
    await sub.subscribe(topic, { qos: 1 });
    const correlationData = Buffer.from([0, 1, 2, 0xfe, 0xff]);
    await pub.publish(topic, '{"k":1}', {
      qos: 1,
      properties: {
        payloadFormatIndicator: true,
        contentType: 'application/json',
        responseTopic: `${topic}/reply`,
        correlationData,
        userProperties: { a: '1', multi: ['x', 'y'], 'ü': 'ß' },
      },
    });
    const m = await sub.next();
    assert.equal(m.payload, '{"k":1}');
    const p = m.packet.properties!;
    assert.equal(p.payloadFormatIndicator, true);
    assert.equal(p.contentType, 'application/json');
    assert.equal(p.responseTopic, `${topic}/reply`);
    assert.deepEqual(Buffer.from(p.correlationData!), correlationData);
    assert.deepEqual({ ...p.userProperties }, { a: '1', multi: ['x', 'y'], 'ü': 'ß' });
    // a message without properties arrives without them
    await pub.publish(topic, 'bare', { qos: 1 });
    const bare = await sub.next();
    assert.equal(bare.payload, 'bare');
    assert.equal(bare.packet.properties?.userProperties, undefined);
    assert.equal(bare.packet.properties?.correlationData, undefined);
  });

  it('payload format indicator 1 with a payload that is not UTF-8 gets PUBACK 0x99 and is not delivered', async (t) => {
    const topic = `pfi/${uid()}`;
    const sub = await openClient(t, port());
    await sub.subscribe(topic, { qos: 1 });
    const raw = await RawClient.connected(t, port());
    raw.send({ cmd: 'publish', topic, payload: Buffer.from([0xc3, 0x28]), qos: 1, messageId: 5, retain: false, dup: false, properties: { payloadFormatIndicator: true } });
    const ack = await raw.expect('puback');
    assert.equal(ack.reasonCode, 0x99);
    assert.deepEqual(await sub.settle(), []);
  });

  it('request / response: the responder replies to the Response Topic with the Correlation Data', async (t) => {
    const base = `rr/${uid()}`;
    const responder = await openClient(t, port());
    await responder.subscribe(`${base}/req`, { qos: 1 });
    responder.mqtt.on('message', (topic, payload, packet) => {
      const p = packet.properties;
      if (topic !== `${base}/req` || !p?.responseTopic) return;
      // the test may end (closing this client) before the broker's PUBACK for the reply comes
      responder.publish(p.responseTopic, `re:${payload.toString()}`, { qos: 1, properties: { correlationData: p.correlationData } }).catch(() => {});
    });
    const requester = await openClient(t, port());
    const replyTo = `${base}/resp/${requester.id}`;
    await requester.subscribe(replyTo, { qos: 1 });
    for (const [n, body] of [
      ['req-1', 'ping'],
      ['req-2', 'pong'],
    ] as const) {
      await requester.publish(`${base}/req`, body, { qos: 1, properties: { responseTopic: replyTo, correlationData: Buffer.from(n) } });
      const reply = await requester.next();
      assert.equal(reply.topic, replyTo);
      assert.equal(reply.payload, `re:${body}`);
      assert.equal(Buffer.from(reply.packet.properties!.correlationData!).toString(), n);
    }
  });
});

describe('MQTT 5 sessions, client identifiers, wills', { concurrency: true }, () => {
  it('Session Expiry Interval: 0 ends at disconnect, 1 is gone after ~1 s, 60 is still present', async (t) => {
    const topic = `se/${uid()}`;
    const mk = (sei: number) => ({ clientId: `se${sei}-${uid()}`, clean: false, properties: { sessionExpiryInterval: sei } });
    const o0 = mk(0);
    const o1 = mk(1);
    const o60 = mk(60);
    for (const o of [o0, o1, o60]) {
      const c = await openClient(t, port(), o);
      assert.equal(c.connack!.sessionPresent, false);
      await c.subscribe(`${topic}/${o.properties.sessionExpiryInterval}`, { qos: 1 });
      await c.disconnect();
    }
    const pub = await openClient(t, port());
    // the interval counts from the disconnect: an immediate reconnect finds the session
    const again = await openClient(t, port(), o1);
    assert.equal(again.connack!.sessionPresent, true);
    await again.disconnect();
    // 0: nothing left at all, subscription included
    assert.equal(await pub.publishRc(`${topic}/0`, 'x', { qos: 1 }), 0x10);
    assert.equal((await openClient(t, port(), o0)).connack!.sessionPresent, false);

    await sleep(1600); // the 1 s interval has to run out; there is no event for it
    assert.equal(await pub.publishRc(`${topic}/1`, 'x', { qos: 1 }), 0x10, 'subscription of the expired session is gone');
    assert.equal(await pub.publishRc(`${topic}/60`, 'kept', { qos: 1 }), 0);
    const c1 = await openClient(t, port(), o1);
    assert.equal(c1.connack!.sessionPresent, false);
    const c60 = await openClient(t, port(), o60);
    assert.equal(c60.connack!.sessionPresent, true);
    assert.equal((await c60.next()).payload, 'kept');
  });

  it('Assigned Client Identifier for an empty client id; it is the session identity', async (t) => {
    const a = await RawClient.open(t, port());
    const ackA = await a.connect({ clientId: '' });
    assert.equal(ackA.reasonCode, 0);
    const idA = ackA.properties?.assignedClientIdentifier;
    assert.match(String(idA), /^starling-[0-9a-f]{16}$/);
    const b = await RawClient.open(t, port());
    const idB = (await b.connect({ clientId: '' })).properties?.assignedClientIdentifier;
    assert.ok(idB && idB !== idA, `second assigned id ${idB} must differ from ${idA}`);
    // a client id that is given is not echoed back
    const c = await RawClient.open(t, port());
    assert.equal((await c.connect({ clientId: `given-${uid()}` })).properties?.assignedClientIdentifier, undefined);
    // connecting with the assigned id takes the session over
    const takeover = await RawClient.open(t, port());
    assert.equal((await takeover.connect({ clientId: idA })).reasonCode, 0);
    assert.equal((await a.expect('disconnect')).reasonCode, 0x8e);
    await a.waitClosed();
    assert.deepEqual(await b.sync(), []); // b is untouched
  });

  it('takeover: the old connection gets DISCONNECT 0x8E, the new one resumes the session', async (t) => {
    const clientId = `to-${uid()}`;
    const topic = `to/${uid()}`;
    const old = await RawClient.connected(t, port(), { clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.deepEqual(await old.subscribe([{ topic, qos: 1 }]), [1]);
    const fresh = await RawClient.open(t, port());
    const ack = await fresh.connect({ clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(ack.reasonCode, 0);
    assert.equal(ack.sessionPresent, true);
    const d = await old.expect('disconnect');
    assert.equal(d.reasonCode, 0x8e);
    await old.waitClosed();
    // the subscription moved with the session
    const pub = await openClient(t, port());
    await pub.publish(topic, 'to-new', { qos: 1 });
    const m = await fresh.expect('publish');
    assert.equal(text(m), 'to-new');
  });

  it('Will Delay Interval: the will is published after the delay', async (t) => {
    const topic = `will/${uid()}`;
    const watcher = await openClient(t, port());
    await watcher.subscribe(topic, { qos: 1 });
    const w = await openClient(t, port(), {
      properties: { sessionExpiryInterval: 30 },
      will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 2 } },
    });
    const t0 = Date.now();
    await w.drop();
    const m = await watcher.next(6000);
    const elapsed = Date.now() - t0;
    assert.equal(m.payload, 'gone');
    assert.ok(elapsed >= 1800 && elapsed < 4000, `will came after ${elapsed} ms, expected ~2000`);
  });

  it('Will Delay Interval: no will when the client reconnects within the delay', async (t) => {
    const topic = `will/${uid()}`;
    const clientId = `wr-${uid()}`;
    const watcher = await openClient(t, port());
    await watcher.subscribe(topic, { qos: 1 });
    const w = await openClient(t, port(), {
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: 30 },
      will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 2 } },
    });
    await w.drop();
    const back = await openClient(t, port(), { clientId, clean: false, properties: { sessionExpiryInterval: 30 } });
    assert.equal(back.connack!.sessionPresent, true);
    await sleep(2500); // past the delay: a will still pending would have been published by now
    assert.deepEqual(await watcher.settle(), []);
  });

  it('Will Delay Interval: the will is published at once when the session ends first (clean start reconnect)', async (t) => {
    const topic = `will/${uid()}`;
    const clientId = `wc-${uid()}`;
    const watcher = await openClient(t, port());
    await watcher.subscribe(topic, { qos: 1 });
    const w = await openClient(t, port(), {
      clientId,
      properties: { sessionExpiryInterval: 30 },
      will: { topic, payload: Buffer.from('ended'), qos: 1, retain: false, properties: { willDelayInterval: 10 } },
    });
    await w.drop();
    const t0 = Date.now();
    await openClient(t, port(), { clientId, clean: true });
    assert.equal((await watcher.next(3000)).payload, 'ended');
    assert.ok(Date.now() - t0 < 2000);
  });
});

describe('MQTT 5 reason codes', { concurrency: true }, () => {
  it('PUBACK 0x10 when no subscriber matches, 0x00 when one does', async (t) => {
    const topic = `rc/${uid()}`;
    const raw = await RawClient.connected(t, port());
    raw.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 1, messageId: 10, retain: false, dup: false });
    const none = await raw.expect('puback');
    assert.equal(none.messageId, 10);
    assert.equal(none.reasonCode, 0x10);
    const sub = await openClient(t, port());
    await sub.subscribe(topic, { qos: 0 });
    raw.send({ cmd: 'publish', topic, payload: Buffer.from('y'), qos: 1, messageId: 11, retain: false, dup: false });
    const some = await raw.expect('puback');
    assert.equal(some.messageId, 11);
    assert.equal(some.reasonCode ?? 0, 0);
    assert.equal((await sub.next()).payload, 'y');
  });

  it('SUBACK 0x8F for an invalid filter, beside granted ones', async (t) => {
    const raw = await RawClient.connected(t, port());
    const codes = await raw.subscribe([
      { topic: 'a/#/b', qos: 1 },
      { topic: `ok/${uid()}/+`, qos: 1 },
      { topic: 'x+', qos: 0 },
      { topic: '$share/g', qos: 0 },
    ]);
    assert.deepEqual(codes, [0x8f, 1, 0x8f, 0x8f]);
  });

  it('UNSUBACK 0x11 for a filter that had no subscription, 0x00 for one that had', async (t) => {
    const topic = `un/${uid()}`;
    const raw = await RawClient.connected(t, port());
    assert.deepEqual(await raw.subscribe([{ topic, qos: 1 }]), [1]);
    raw.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [`${topic}/never`, topic] });
    const ack = await raw.expect('unsuback');
    assert.equal(ack.messageId, 2);
    assert.deepEqual(ack.granted, [0x11, 0]);
    raw.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: [topic] });
    assert.deepEqual((await raw.expect('unsuback')).granted, [0x11]);
  });

  it('DISCONNECT 0x98 (administrative action) when kicked through the management API', async (t) => {
    const id = `kick-${uid()}`;
    const raw = await RawClient.connected(t, port(), { clientId: id });
    // the standalone node serves the API itself (test/support/broker.ts sets its port)
    const apiPort = node!.listeners['http:management'];
    assert.ok(apiPort, 'the standalone node reports its API port');
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/v4/clients/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      headers: { authorization: `Basic ${Buffer.from('admin:public').toString('base64')}` },
    });
    assert.deepEqual(await res.json(), { code: 0 });
    const d = await raw.expect('disconnect');
    assert.equal(d.reasonCode, 0x98);
  });
});

describe('MQTT 5 Server Keep Alive', { concurrency: true }, () => {
  it('with STARLING_SERVER_KEEPALIVE=5, a client asking 60 is told 5', async (t) => {
    const c = await openClient(t, kaNode!.mqttPort, { keepalive: 60 });
    assert.equal(c.connack!.properties?.serverKeepAlive, 5);
  });

  it('a client asking 0 (none) is told 5; one asking less than 5 keeps its own', async (t) => {
    const zero = await RawClient.open(t, kaNode!.mqttPort);
    assert.equal((await zero.connect({ keepalive: 0 })).properties?.serverKeepAlive, 5);
    const three = await RawClient.open(t, kaNode!.mqttPort);
    const ack = await three.connect({ keepalive: 3 });
    assert.equal(ack.reasonCode, 0);
    assert.equal(ack.properties?.serverKeepAlive, undefined);
  });
});
