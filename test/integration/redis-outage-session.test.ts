/**
 * A persistent QoS 2 subscriber whose connection drops while redis-server is down, and who
 * connects again at once to another node, while a publisher on a third node keeps publishing
 * QoS 2: the node the durable store names hands the session over (the registry that would say
 * so is away), so one node holds it (Session Present 1), nothing comes twice and nothing acknowledged is
 * missing: the node it left sends on what still reaches it there (moved-sessions.ts) while the
 * new node's routes cannot reach the store.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import { useCluster } from '../support/cluster.js';
import { arrivals, check, startNumberedStream } from '../support/durable.js';
import { connectClient, sleep, tcpUrl } from '../support/mqtt-clients.js';
import { routed } from '../support/routed.js';

describe('a persistent session moving to another node during a Redis outage', { timeout: 120_000 }, () => {
  const cl = useCluster(['n1', 'n2', 'n3']);

  it('is taken over from its node (not resumed from the store beside it) and gets each acknowledged QoS 2 message once', async (t) => {
    // n1 publishes, n2 holds the session first, n3 takes it over during the outage
    const topic = 'routage/x';
    const clientId = 'routage-sub';
    // the client keeps its session state across connections [MQTT-3.1.2-4]: a QoS 2 message it
    // took (PUBREC) before the drop is delivered when the PUBREL comes on the next one
    const incomingStore = new mqtt.Store({ clean: false });
    const sub = await connectClient(tcpUrl(cl.c.node('n2').mqttPort), { clientId, clean: false, incomingStore }, t);
    await sub.client.subscribeAsync('routage/+', { qos: 2 });
    const got = arrivals(sub.client, topic);
    const pub = await connectClient(tcpUrl(cl.c.node('n1').mqttPort), { clientId: 'routage-pub' }, t);
    await routed(pub, sub, 'routage/probe'); // the route reaches n1
    const stream = startNumberedStream(pub, topic, 2, { everyMs: 10 });
    await stream.ackedAtLeast(50);
    await cl.c.redis.proc.kill('SIGKILL');
    await sleep(300);
    sub.client.stream.destroy();
    const t0 = Date.now();
    // listening before CONNACK: a resumed session's PUBREL for what was taken before the drop comes right behind it
    let got2: number[] = [];
    const again = await connectClient(tcpUrl(cl.c.node('n3').mqttPort), { clientId, clean: false, incomingStore, onConnecting: (c) => (got2 = arrivals(c, topic)) }, t);
    // taken over from n2, not a stored copy resumed beside the session n2 still holds
    const n2 = await cl.c.transport.request('n2@127.0.0.1', 'metrics.scrape', {}, 2000);
    assert.equal(n2.stats['sessions.count'], 0, 'n2 still holds the session');
    t.diagnostic(`session present: ${again.connack?.sessionPresent} after ${Date.now() - t0} ms`);
    await sleep(1500);
    await cl.c.redis.start();
    await sleep(3000);
    await stream.stop();
    await sleep(1500);
    const r = check(stream.acked, [...got, ...got2]);
    t.diagnostic(`acked ${stream.acked.length}, got ${got.length}+${got2.length}, missing ${r.missing.length} (${r.missing.slice(0, 10)}), duplicates ${r.duplicates.length} (${r.duplicates.slice(0, 10)})`);
    assert.deepEqual(r.duplicates, []);
    assert.deepEqual(r.missing, [], `${r.missing.length} of ${stream.acked.length} missing`);
  });
});
