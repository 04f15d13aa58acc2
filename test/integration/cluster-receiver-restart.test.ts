/**
 * A node restarted under its name while a publisher's node could not hear it: n2 delivers
 * QoS 2 forwards from n1 to a persistent subscriber, n2's acknowledgements never reach n1
 * (n1's NATS connection goes through a relay that throws away what the server sends it),
 * n1 then loses NATS, n2 is killed and started again, the subscriber resumes its session
 * there, and n1 comes back with the forwards still unconfirmed. Sent again, n2's new run
 * (its dedupe was in the old one's memory) would deliver them a second time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useCluster } from '../support/cluster.js';
import { check, until } from '../support/durable.js';
import { connectClient, sleep, tcpUrl, type TestClient } from '../support/mqtt-clients.js';
import { routed } from '../support/routed.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

describe('a receiving node restarted before its acknowledgements reached the sender', { timeout: 120_000 }, () => {
  const cl = useCluster(['n2']);

  // With durable sessions on, forwards sent to a node's former run go to its new one (a frame the
  // former run never got is not lost: docs/forwarding.md, "Unreachable nodes"); the sessions it
  // takes back drop what they restored, and the QoS 2 messages their records name as completed
  // lately (these were delivered, completed and trimmed before the kill).
  it('does not deliver again the QoS 2 forwards its previous run delivered', async (t) => {
    const c = cl.c;
    const relay = await startTcpProxy(c.nats.port);
    t.after(() => relay.close());
    await c.startNode('n1', { NATS_URL: `nats://127.0.0.1:${relay.port}` });
    const topic = 'rerun/x';
    const clientId = 'rerun-sub';
    const numbers = (cl: TestClient) => cl.received.filter((m) => m.topic === topic).map((m) => Number(m.payload));
    const sub = await connectClient(tcpUrl(c.node('n2').mqttPort), { clientId, clean: false }, t);
    await sub.client.subscribeAsync('rerun/+', { qos: 2 });
    const pub = await connectClient(tcpUrl(c.node('n1').mqttPort), { clientId: 'rerun-pub' }, t);
    await routed(pub, sub, 'rerun/probe');
    // acknowledged through n2: n1 has heard n2's run
    await pub.client.publishAsync(topic, '0', { qos: 2 });

    relay.mute(); // n2's acknowledgements (and probe answers) no longer reach n1
    const unconfirmed = [1, 2, 3, 4, 5].map((i) => pub.client.publishAsync(topic, String(i), { qos: 2 }));
    await until(() => numbers(sub).length === 6, 10_000, 'the subscriber gets 0-5 from n2');
    // n1 off NATS before its probes, unanswered, would give the forwards up
    relay.refusing = true;
    relay.cut();
    await sleep(300); // the subscriber's PUBCOMPs trimmed from the store (every 50 ms)

    await c.node('n2').kill9();
    c.nodes.delete('n2');
    await c.startNode('n2');
    const again = await connectClient(tcpUrl(c.node('n2').mqttPort), { clientId, clean: false }, t);
    assert.equal(again.connack?.sessionPresent, true, 'the session resumed from the store');

    relay.refusing = false; // n1 reconnects and finds n2 (its new run) listening
    await Promise.all(unconfirmed);
    // forwarded after whatever n1 sends n2 again (in order, before any new frame)
    await pub.client.publishAsync(topic, '6', { qos: 2 });
    await until(() => numbers(again).includes(6), 10_000, 'the subscriber gets 6 from n2 restarted');
    const got = [...numbers(sub), ...numbers(again)];
    const r = check([0, 1, 2, 3, 4, 5, 6], got);
    t.diagnostic(`before the restart ${numbers(sub).join(',')}; after it ${numbers(again).join(',')}`);
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.duplicates, [], 'delivered again by the restarted node');
  });
});
