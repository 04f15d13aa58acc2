/**
 * A real three-node cluster: a persistent subscriber moves back and forth between n1 and n2
 * (its client reconnecting to the other node, after a clean DISCONNECT or taking over the
 * live connection) while publishers on n3 and on n1 stream numbered QoS 1 messages. Every message
 * acknowledged to the publisher reaches the subscriber: while the session moves, the old
 * node keeps its routes until the new node's are in the store, and what still reaches the
 * old node goes on to the new owner. Before, what n3 published between the old node giving
 * the session up and the new node's routes reaching n3 was lost.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep, useCluster } from '../support/cluster.js';
import { connectClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';

const cluster = useCluster(['n1', 'n2', 'n3']);

const MOVES = 12;
/** QoS 1 publishes kept in flight by the publisher */
const WINDOW = 8;

for (const how of ['reconnect', 'takeover'] as const) {
  test(`a persistent subscriber moving between nodes (${how}) gets every message acknowledged meanwhile`, async (t) => {
    const c = cluster.c;
    const id = uid(`move-${how}`);
    const topic = `${id}/s`;
    const conns: TestClient[] = [];
    /** what the subscriber's connections got (each records from its creation on, CONNACK's burst included) */
    const got = (): Set<string> => new Set(conns.flatMap((s) => s.received.map((m) => m.payload)));
    const open = async (node: string): Promise<TestClient> => {
      const s = await connectClient(tcpUrl(c.node(node).mqttPort), { clientId: id, clean: false, keepalive: 0 }, t);
      conns.push(s);
      return s;
    };
    let sub = await open('n1');
    await sub.subscribe(topic, { qos: 1 });
    // a publisher on a third node, and one on n1: the node the session leaves, then the one it comes to
    const pubs = await Promise.all(['n3', 'n1'].map((n) => connectClient(tcpUrl(c.node(n).mqttPort), { clientId: uid(`pub-${n}`) }, t)));
    // n3 routes the topic to n1 once a probe gets through
    for (let k = 1; got().size === 0; k++) {
      assert.ok(k < 100, 'no route from n3 to n1');
      await pubs[0]!.publish(topic, `probe${k}`, { qos: 0 });
      await sub.waitForMessage((m) => m.payload === `probe${k}`, { timeoutMs: 200 }).catch(() => {});
    }

    const acked: string[] = [];
    let streaming = true;
    const streams = pubs.map(async (pub, k) => {
      const inFlight = new Set<Promise<void>>();
      for (let n = 0; streaming; n++) {
        const payload = `${k}:${n}`;
        const p = pub.publish(topic, payload, { qos: 1 }).then(() => void acked.push(payload));
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        if (inFlight.size >= WINDOW) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    });

    for (let move = 0; move < MOVES; move++) {
      const to = move % 2 === 0 ? 'n2' : 'n1';
      // some messages reach the session where it is before it moves again
      const seen = got().size;
      while (got().size < seen + 20) await sleep(10);
      if (how === 'reconnect') await sub.end();
      const moved = await open(to);
      assert.equal(moved.connack?.sessionPresent, true, `the session came over to ${to}`);
      if (how === 'takeover') await sub.waitClose();
      sub = moved;
    }
    streaming = false;
    await Promise.all(streams);

    const missing = (): string[] => {
      const have = got();
      return acked.filter((p) => !have.has(p));
    };
    // the last connection drains what is owed to it
    for (let wait = 0; missing().length > 0 && wait < 100; wait++) await sleep(50);
    assert.ok(acked.length > MOVES * 20, `the publishers kept publishing (${acked.length} acknowledged)`);
    assert.deepEqual(missing(), [], `every one of ${acked.length} acknowledged messages reached the subscriber`);
  });
}
