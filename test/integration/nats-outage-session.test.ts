/**
 * A persistent subscriber whose connection drops while nats-server is down, and who connects
 * again at once, while a publisher on another node keeps publishing QoS 1 (each counted once
 * acknowledged): on its own node its session resumes and nothing acknowledged is lost; on
 * another node no takeover is possible (the RPC needs NATS, the durable store too), the
 * CONNACK says Session Present 0 and the client subscribes again, as MQTT asks of it. When
 * NATS is back the clientid live on two nodes is settled (conflicts.ts): the session left
 * behind sends what it queued meanwhile to the one kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import { useCluster } from '../support/cluster.js';
import { arrivals, check, startNumberedStream } from '../support/durable.js';
import { connectClient, sleep, tcpUrl } from '../support/mqtt-clients.js';
import { routed } from '../support/routed.js';

describe('a persistent session reconnecting during a NATS outage', { timeout: 120_000 }, () => {
  const cl = useCluster(['n1', 'n2']);

  const run = async (t: import('node:test').TestContext, to: 'n1' | 'n2', qos: 1 | 2 = 1) => {
    const topic = `outage-${to}/x${qos}`;
    const clientId = `outage-sub-${to}-${qos}`;
    // the client keeps its session state across connections [MQTT-3.1.2-4]: a QoS 2 message it
    // took (PUBREC) before the drop is delivered when the PUBREL comes on the next one
    const incomingStore = new mqtt.Store({ clean: false });
    const sub = await connectClient(tcpUrl(cl.c.node('n2').mqttPort), { clientId, clean: false, incomingStore }, t);
    await sub.client.subscribeAsync(`outage-${to}/+`, { qos });
    const got = arrivals(sub.client, topic);
    const pub = await connectClient(tcpUrl(cl.c.node('n1').mqttPort), { clientId: `outage-pub-${to}-${qos}` }, t);
    await routed(pub, sub, `outage-${to}/probe`); // the route reaches n1
    const stream = startNumberedStream(pub, topic, qos, { everyMs: 20 });
    await stream.ackedAtLeast(20);
    await cl.c.nats.proc.kill('SIGKILL');
    await sleep(500); // publishes go on; their forwards to n2 wait for NATS
    sub.client.stream.destroy(); // the subscriber's connection drops
    // listening before CONNACK: a resumed session's PUBREL for what was taken before the drop comes right behind it
    let got2: number[] = [];
    const again = await connectClient(tcpUrl(cl.c.node(to).mqttPort), { clientId, clean: false, incomingStore, onConnecting: (c) => (got2 = arrivals(c, topic)) }, t);
    const present = again.connack?.sessionPresent === true;
    if (!present) await again.client.subscribeAsync(`outage-${to}/+`, { qos });
    await cl.c.nats.start();
    const before = stream.acked.length;
    await stream.ackedAtLeast(before + 50, 30_000);
    await stream.stop();
    await sleep(1000);
    const r = check(stream.acked, [...got, ...got2]);
    t.diagnostic(`session present ${present}; acked ${stream.acked.length}, got ${got.length}+${got2.length}, missing ${r.missing.length} (${r.missing.slice(0, 10)}), duplicates ${r.duplicates.length}`);
    return { present, ...r, acked: stream.acked.length };
  };

  it('on its own node: resumed (Session Present 1), every acknowledged message delivered', async (t) => {
    const r = await run(t, 'n2');
    assert.equal(r.present, true);
    assert.deepEqual(r.missing, [], `${r.missing.length} of ${r.acked} missing`);
  });

  it('on another node: Session Present 0, then every message acknowledged before or after delivered', async (t) => {
    const r = await run(t, 'n1');
    assert.equal(r.present, false);
    assert.deepEqual(r.missing, [], `${r.missing.length} of ${r.acked} missing`);
  });

  it('on another node at QoS 2: what the session left behind queued comes once, also what the kept one got directly', async (t) => {
    const r = await run(t, 'n1', 2);
    assert.equal(r.present, false);
    assert.deepEqual(r.missing, [], `${r.missing.length} of ${r.acked} missing`);
    assert.deepEqual(r.duplicates, []);
  });
});
