/**
 * A real three-node cluster: a persistent session with QoS 2 messages in flight both ways
 * moves from n1 to n2 (its client reconnects there). It resumes as on the same node
 * [MQTT-4.4.0-1]: a message the client PUBREC'd gets PUBREL under its packet id, one it did
 * not acknowledge comes again under its packet id with DUP, a completed one not at all,
 * and the client's own QoS 2 PUBLISH awaiting PUBREL is not delivered a second time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { useCluster } from '../support/cluster.js';
import { connectClient, tcpUrl, uid, type Received } from '../support/mqtt-clients.js';
import { RawClient } from '../support/mqtt5.js';

const cluster = useCluster(['n1', 'n2', 'n3']);

const publishes = (ps: Packet[]): IPublishPacket[] => ps.filter((p): p is IPublishPacket => p.cmd === 'publish');

for (const version of [4, 5] as const) {
  test(`MQTT ${version === 5 ? '5' : '3.1.1'}: a session moved to another node keeps its QoS 2 packet identifiers and states`, async (t) => {
    const c = cluster.c;
    const id = uid(`inflight${version}`);
    const topic = `${id}/in`;
    const outTopic = `${id}/out`;
    const session = version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {};
    const a = await RawClient.connected(t, c.node('n1').mqttPort, { protocolVersion: version, clientId: id, clean: false, ...session });
    assert.deepEqual(await a.subscribe([{ topic, qos: 2 }]), [2]);
    const pub = await connectClient(tcpUrl(c.node('n3').mqttPort), { clientId: uid('pub') }, t);
    const watcher = await connectClient(tcpUrl(c.node('n3').mqttPort), { clientId: uid('watch') }, t);
    await watcher.subscribe(outTopic, { qos: 2 });
    // n3 routes the topic to n1 once a QoS 0 probe gets through
    for (let k = 0; ; k++) {
      await pub.publish(topic, `probe${k}`, { qos: 0 });
      if (publishes(await a.sync()).length > 0) break;
      assert.ok(k < 200, 'no route from n3 to n1');
    }
    // and n1 routes the other topic to n3
    for (let k = 0; watcher.messages((m: Received) => m.payload.startsWith('probe')).length === 0; k++) {
      a.send({ cmd: 'publish', topic: outTopic, payload: Buffer.from(`probe${k}`), qos: 0, retain: false, dup: false });
      await a.sync();
      assert.ok(k < 200, 'no route from n1 to n3');
    }

    // three QoS 2 messages: q1 PUBREC'd (PUBREL owed, no PUBCOMP), q2 not acknowledged, q3 complete
    for (const p of ['q1', 'q2', 'q3']) void pub.publish(topic, p, { qos: 2 });
    const got = new Map<string, number>();
    while (got.size < 3) for (const p of publishes([await a.next()])) if (p.qos === 2) got.set(p.payload.toString(), p.messageId!);
    const [id1, id2, id3] = ['q1', 'q2', 'q3'].map((p) => got.get(p)!);
    a.send({ cmd: 'pubrec', messageId: id1 });
    a.send({ cmd: 'pubrec', messageId: id3 });
    const rels = new Set<number>();
    while (rels.size < 2) {
      const p = await a.next();
      if (p.cmd === 'pubrel') rels.add(p.messageId!);
    }
    a.send({ cmd: 'pubcomp', messageId: id3 });
    // the client's own QoS 2 PUBLISH: PUBREC came, PUBREL not sent yet
    a.send({ cmd: 'publish', topic: outTopic, payload: Buffer.from('own'), qos: 2, messageId: 77, retain: false, dup: false });
    assert.equal((await a.expect('pubrec')).messageId, 77);
    await a.sync();
    a.destroy();

    const b = await RawClient.open(t, c.node('n2').mqttPort, version);
    const ack = await b.connect({ protocolVersion: version, clientId: id, clean: false, ...session });
    assert.equal(ack.sessionPresent, true, 'the session came over from n1');
    const resumed = await b.sync();
    const rel = resumed.filter((p) => p.cmd === 'pubrel').map((p) => p.messageId);
    const again = publishes(resumed).map((p) => [p.payload.toString(), p.messageId, p.dup]);
    assert.deepEqual(rel, [id1], 'PUBREL for q1 under its packet id');
    assert.deepEqual(again, [['q2', id2, true]], 'q2 again under its packet id with DUP; q1 and q3 not again');
    b.send({ cmd: 'pubcomp', messageId: id1 });
    b.send({ cmd: 'pubrec', messageId: id2 });
    assert.equal((await b.expect('pubrel')).messageId, id2);
    b.send({ cmd: 'pubcomp', messageId: id2 });

    // its own message resent with DUP is not delivered again: the packet id still awaits PUBREL
    b.send({ cmd: 'publish', topic: outTopic, payload: Buffer.from('own'), qos: 2, messageId: 77, retain: false, dup: true });
    assert.equal((await b.expect('pubrec')).messageId, 77);
    b.send({ cmd: 'pubrel', messageId: 77 });
    assert.equal((await b.expect('pubcomp')).messageId, 77);
    await watcher.waitForMessage((m) => m.payload === 'own');
    await pub.publish(outTopic, 'after', { qos: 2 });
    await watcher.waitForMessage((m) => m.payload === 'after');
    assert.deepEqual(watcher.messages((m: Received) => m.payload === 'own').length, 1, 'the own message once');
    assert.deepEqual(publishes(await b.sync()), [], 'nothing more owed');
  });
}
