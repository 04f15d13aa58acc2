// GET /api/v4/metrics, /stats and their /nodes/{node}/ forms through a real gateway over a
// real three-node cluster: the spec's shapes (every key of its examples, numbers), counters
// moving by exactly what real MQTT traffic accounts for on the node that saw it, gauges up
// and down with their maxima kept, and a node killed: 101 naming it, then 0 once purged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, fullName } from '../support/cluster.js';
import { api, fails, ok, type ApiAnswer } from '../support/gateway.js';
import { connectClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';
import { routed } from '../support/routed.js';
import { useGatewayCluster } from '../support/gateway-cluster.js';

const cluster = useGatewayCluster();

const NODES = [fullName('n1'), fullName('n2'), fullName('n3')];
const get = (path: string): Promise<ApiAnswer> => api(cluster.base, 'GET', `/api/v4${path}`);

// The keys of the spec's examples (GET /api/v4/metrics, GET /api/v4/stats), as EMQX 4.x answers them.
const SPEC_METRICS =
  'messages.dropped.no_subscribers packets.connack.sent bytes.received messages.received packets.unsuback.sent messages.delivered client.disconnected packets.puback.sent packets.subscribe.auth_error delivery.dropped.queue_full messages.forward delivery.dropped.qos0_msg delivery.dropped.expired bytes.sent messages.sent delivery.dropped.no_local packets.pubrec.received packets.pubcomp.received client.check_acl packets.puback.received session.takeovered messages.dropped.expired messages.qos1.sent messages.retained packets.pubcomp.inuse packets.pubrec.sent packets.received messages.acked session.terminated packets.sent packets.unsubscribe.error client.connect packets.pubrec.missed packets.auth.sent packets.disconnect.received messages.qos2.sent client.auth.anonymous packets.auth.received packets.unsubscribe.received packets.publish.auth_error client.connected packets.disconnect.sent session.created packets.pingreq.received messages.dropped packets.publish.sent session.resumed packets.connack.auth_error packets.pubrel.sent delivery.dropped packets.pubcomp.sent messages.qos2.received messages.qos0.received packets.publish.inuse client.unsubscribe packets.pubrel.received client.connack packets.connack.error packets.publish.dropped packets.publish.received client.subscribe packets.subscribe.error packets.suback.sent packets.pubcomp.missed messages.qos1.received delivery.dropped.too_large packets.pingresp.sent packets.pubrel.missed messages.qos0.sent packets.connect.received packets.puback.missed packets.subscribe.received packets.puback.inuse client.authenticate messages.publish packets.pubrec.inuse packets.publish.error messages.delayed session.discarded'.split(
    ' ',
  );
const SPEC_STATS =
  'topics.max topics.count subscriptions.shared.max subscriptions.shared.count subscriptions.max subscriptions.count subscribers.max subscribers.count suboptions.max suboptions.count sessions.max sessions.count routes.max routes.count retained.max retained.count resources.max resources.count connections.max connections.count channels.max channels.count'.split(
    ' ',
  );

type Counters = Record<string, number>;

/** Exactly the spec's keys, each a non-negative integer. */
function assertCounters(o: Counters, keys: string[]): void {
  assert.deepEqual(Object.keys(o).sort(), [...keys].sort());
  for (const [k, v] of Object.entries(o)) assert.ok(Number.isInteger(v) && v >= 0, `${k} = ${JSON.stringify(v)}`);
}

const nodeMetrics = async (short: string): Promise<Counters> => {
  const r = await get(`/nodes/${fullName(short)}/metrics`);
  ok(r);
  return r.body.data as Counters;
};
const nodeStats = async (short: string): Promise<Counters> => {
  const r = await get(`/nodes/${encodeURIComponent(fullName(short))}/stats`);
  ok(r);
  return r.body.data as Counters;
};

/** after − before for the named counters. */
const delta = (before: Counters, after: Counters, names: string[]): Counters => Object.fromEntries(names.map((n) => [n, after[n]! - before[n]!]));

describe('shapes', () => {
  it('GET /metrics: one {node, metrics} per live node, in node order, every metric of the spec', async () => {
    const r = await get('/metrics');
    ok(r);
    assert.deepEqual(r.body.data.map((row: { node: string }) => row.node), NODES);
    for (const row of r.body.data) {
      assert.deepEqual(Object.keys(row).sort(), ['metrics', 'node']);
      assertCounters(row.metrics, SPEC_METRICS);
    }
  });

  it('GET /nodes/{node}/metrics: that node\'s metrics as one object', async () => {
    assertCounters(await nodeMetrics('n2'), SPEC_METRICS);
  });

  it('GET /stats: one {node, stats} per live node, every stat with its .max', async () => {
    const r = await get('/stats');
    ok(r);
    assert.deepEqual(r.body.data.map((row: { node: string }) => row.node), NODES);
    for (const row of r.body.data) {
      assert.deepEqual(Object.keys(row).sort(), ['node', 'stats']);
      assertCounters(row.stats, SPEC_STATS);
      for (const k of SPEC_STATS.filter((s) => s.endsWith('.count'))) {
        assert.ok(row.stats[k.replace(/count$/, 'max')] >= row.stats[k], `${k} <= its max`);
      }
    }
  });

  it('GET /nodes/{node}/stats: that node\'s stats as one object; an unknown node is 404', async () => {
    assertCounters(await nodeStats('n3'), SPEC_STATS);
    fails(await get('/nodes/nobody@127.0.0.1/stats'), 404, 404);
    fails(await get('/nodes/nobody@127.0.0.1/metrics'), 404, 404);
  });
});

describe('counting real traffic', () => {
  it('N QoS 1 publishes from n1 to a subscriber on n2 move each node\'s counters by N', async (t) => {
    const N = 25;
    const topic = uid('mx/q1');
    // keepalive 0: no PINGREQ may land in the packet counts
    const sub = await connectClient(tcpUrl(cluster.c.node('n2').mqttPort), { clientId: uid('mx-sub'), keepalive: 0 }, t);
    await sub.subscribe(topic, { qos: 1 });
    const pub = await connectClient(tcpUrl(cluster.c.node('n1').mqttPort), { clientId: uid('mx-pub'), keepalive: 0 }, t);
    await routed(pub, sub, topic);

    const [b1, b2, b3] = await Promise.all(['n1', 'n2', 'n3'].map(nodeMetrics));
    for (let i = 0; i < N; i++) await pub.publish(topic, `m${i}`, { qos: 1 });
    await sub.waitForMessages(N);

    const onN1 = ['messages.received', 'messages.qos1.received', 'messages.publish', 'messages.forward', 'packets.publish.received', 'packets.puback.sent', 'packets.received', 'packets.sent'];
    const onN2 = ['messages.sent', 'messages.qos1.sent', 'messages.delivered', 'messages.acked', 'packets.publish.sent', 'packets.puback.received', 'packets.received', 'packets.sent'];
    // the subscriber's PUBACKs may still be on their way when it has the messages
    const [a1, a2] = await eventually(async () => {
      const a = await Promise.all(['n1', 'n2'].map(nodeMetrics));
      assert.deepEqual(delta(b2!, a[1]!, ['packets.puback.received']), { 'packets.puback.received': N });
      return a;
    });
    assert.deepEqual(delta(b1!, a1!, onN1), Object.fromEntries(onN1.map((n) => [n, N])));
    assert.deepEqual(delta(b2!, a2!, onN2), Object.fromEntries(onN2.map((n) => [n, N])));
    assert.ok(a1!['bytes.received']! - b1!['bytes.received']! >= N * (4 + topic.length), 'n1 received the PUBLISH bytes');
    assert.ok(a2!['bytes.sent']! - b2!['bytes.sent']! >= N * (4 + topic.length), 'n2 sent the PUBLISH bytes');
    // what each node did not do
    assert.deepEqual(delta(b1!, a1!, ['messages.sent', 'messages.delivered', 'messages.dropped']), { 'messages.sent': 0, 'messages.delivered': 0, 'messages.dropped': 0 });
    assert.deepEqual(delta(b2!, a2!, ['messages.received', 'messages.publish', 'messages.forward']), { 'messages.received': 0, 'messages.publish': 0, 'messages.forward': 0 });
    const a3 = await nodeMetrics('n3');
    assert.deepEqual(delta(b3!, a3, [...onN1, ...onN2]), Object.fromEntries([...onN1, ...onN2].map((n) => [n, 0])));
  });

  it('QoS 0 and QoS 2 count under their own QoS; a publish nobody subscribes to is dropped.no_subscribers', async (t) => {
    const topic = uid('mx/q2');
    const sub = await connectClient(tcpUrl(cluster.c.node('n1').mqttPort), { clientId: uid('mx-sub'), keepalive: 0 }, t);
    await sub.subscribe(topic, { qos: 2 });
    const pub = await connectClient(tcpUrl(cluster.c.node('n1').mqttPort), { clientId: uid('mx-pub'), keepalive: 0 }, t);
    const b = await nodeMetrics('n1');
    await pub.publish(topic, 'zero', { qos: 0 });
    await pub.publish(topic, 'two', { qos: 2 });
    await pub.publish(uid('mx/nobody'), 'lost', { qos: 1 });
    await sub.waitForMessages(2);
    const names = ['messages.qos0.received', 'messages.qos2.received', 'messages.qos1.received', 'messages.received', 'messages.qos0.sent', 'messages.qos2.sent', 'messages.sent', 'messages.dropped.no_subscribers', 'messages.dropped', 'packets.pubrec.sent', 'packets.pubrel.received', 'packets.pubcomp.sent'];
    const a = await eventually(async () => {
      const now = await nodeMetrics('n1');
      assert.equal(now['packets.pubcomp.received']! - b['packets.pubcomp.received']!, 1, 'the subscriber completed the QoS 2 delivery');
      return now;
    });
    assert.deepEqual(delta(b, a, names), {
      'messages.qos0.received': 1,
      'messages.qos2.received': 1,
      'messages.qos1.received': 1,
      'messages.received': 3,
      'messages.qos0.sent': 1,
      'messages.qos2.sent': 1,
      'messages.sent': 2,
      'messages.dropped.no_subscribers': 1,
      'messages.dropped': 1,
      'packets.pubrec.sent': 1,
      'packets.pubrel.received': 1,
      'packets.pubcomp.sent': 1,
    });
  });

  it('connections and subscriptions stats go up and down again, their maxima staying', async () => {
    const K = 4;
    const b = await nodeStats('n3');
    const clients: TestClient[] = [];
    for (let i = 0; i < K; i++) {
      const cl = await connectClient(tcpUrl(cluster.c.node('n3').mqttPort), { clientId: uid('mx-st') });
      await cl.subscribe([`${uid('mx/st')}/a`, `$share/g/${uid('mx/st')}`], { qos: 1 });
      clients.push(cl);
    }
    const up = await eventually(async () => {
      const s = await nodeStats('n3');
      assert.equal(s['connections.count'], b['connections.count']! + K);
      return s;
    });
    const changed = ['connections.count', 'sessions.count', 'channels.count', 'subscriptions.count', 'suboptions.count', 'subscriptions.shared.count', 'subscribers.count', 'topics.count', 'routes.count'];
    assert.deepEqual(delta(b, up, changed), {
      'connections.count': K,
      'sessions.count': K,
      'channels.count': K,
      'subscriptions.count': 2 * K,
      'suboptions.count': 2 * K,
      'subscriptions.shared.count': K,
      'subscribers.count': K,
      'topics.count': 2 * K,
      'routes.count': 2 * K,
    });
    for (const k of changed) assert.ok(up[k.replace(/count$/, 'max')]! >= up[k]!, `${k}: max follows`);

    for (const cl of clients) await cl.end();
    const down = await eventually(async () => {
      const s = await nodeStats('n3');
      assert.deepEqual(delta(b, s, changed), Object.fromEntries(changed.map((k) => [k, 0])));
      return s;
    });
    for (const k of changed) {
      const max = k.replace(/count$/, 'max');
      assert.equal(down[max], up[max], `${max} stays after the clients left`);
    }
  });
});

// Last: it leaves n3 dead.
describe('a node killed', () => {
  it('GET /metrics and /stats answer 101 naming it, then 0 without it once it is purged', async (t) => {
    ok(await get('/metrics'));
    await cluster.c.node('n3').kill9();
    // still in the registry (its heartbeat has not expired yet): the cluster-wide calls fail
    const [m, s] = await Promise.all([get('/metrics'), get('/stats')]);
    for (const r of [m, s]) {
      fails(r, 200, 101);
      assert.match(r.body.message, /n3@127\.0\.0\.1/);
    }
    t.diagnostic(`101: ${m.body.message}`);
    for (const path of ['/metrics', '/stats']) {
      const r = await eventually(async () => {
        const again = await get(path);
        ok(again);
        return again;
      }, 5000);
      assert.deepEqual(r.body.data.map((row: { node: string }) => row.node), NODES.slice(0, 2));
    }
    fails(await get(`/nodes/${fullName('n3')}/metrics`), 404, 404);
    fails(await get(`/nodes/${fullName('n3')}/stats`), 404, 404);
  });
});
