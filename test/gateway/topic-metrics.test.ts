// Topic metrics (GET/POST/DELETE /api/v4/topic-metrics, /topic-metrics/{topic}) through a
// real gateway over a real three-node cluster: the module loaded through the modules API
// (EMQX ships it unloaded), a registered topic is counted on every node
// with real MQTT traffic at QoS 0/1/2 from publishers on several nodes, the cluster answer
// sums the nodes, rates rise after traffic; deleting one and all; the 512 limit and errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TOPIC_METRIC_KEYS, type TopicMetricsRow } from '../../shared/api/topic-metrics.js';
import { eventually, fullName } from '../support/cluster.js';
import { api, fails, ok, type ApiAnswer } from '../support/gateway.js';
import { connectClient, tcpUrl, uid, type QoS, type TestClient } from '../support/mqtt-clients.js';
import { routed } from '../support/routed.js';
import { useGatewayCluster } from '../support/gateway-cluster.js';

const cluster = useGatewayCluster();

const SHORTS = ['n1', 'n2', 'n3'];
const enc = encodeURIComponent;
const call = (method: string, path: string, body?: unknown): Promise<ApiAnswer> => api(cluster.base, method, `/api/v4${path}`, { body });
const get = (path: string): Promise<ApiAnswer> => call('GET', path);

/** One node's own rows, over RPC as the gateway asks for them. */
const nodeRows = (short: string, topic?: string): Promise<TopicMetricsRow[] | null> =>
  cluster.c.transport.request(fullName(short), 'topicMetrics.list', topic === undefined ? {} : { topic }, 2000);

/** Resolves once every node counts exactly `topics` (their registrations have reached each node). */
async function everyNodeCounts(topics: string[]): Promise<void> {
  await eventually(async () => {
    for (const n of SHORTS) assert.deepEqual(((await nodeRows(n)) ?? []).map((r) => r.topic).sort(), [...topics].sort(), n);
  });
}

/** The spec's metrics object: exactly its keys, numbers. */
function assertMetrics(m: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(m).sort(), [...TOPIC_METRIC_KEYS].sort());
  for (const [k, v] of Object.entries(m)) assert.ok(typeof v === 'number' && v >= 0, `${k} = ${JSON.stringify(v)}`);
}

const counts = (m: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(m).filter(([k]) => k.endsWith('.count')));
const zeroCounts = Object.fromEntries(TOPIC_METRIC_KEYS.filter((k) => k.endsWith('.count')).map((k) => [k, 0]));

describe('registering and counting', () => {
  const topic = uid('tm/a');
  // outside the subscriber's tm/#: nobody receives it
  const lonely = uid('tm-lonely/x');
  const subs: TestClient[] = [];

  it('unloaded by default (EMQX): module_not_loaded until PUT /modules/emqx_mod_topic_metrics/load loads it on every node', async () => {
    const r = await get('/topic-metrics');
    fails(r, 200, 102);
    assert.equal(r.body.message, 'module_not_loaded');
    ok(await call('PUT', '/modules/emqx_mod_topic_metrics/load'), ['code']);
    for (const n of SHORTS) assert.equal(await cluster.c.transport.request(fullName(n), 'topicMetrics.loaded', {}, 2000), true, n);
  });

  it('starts empty; POST registers a topic, listed with every metric at zero', async () => {
    const empty = await get('/topic-metrics');
    ok(empty);
    assert.deepEqual(empty.body.data, []);
    const r = await call('POST', '/topic-metrics', { topic });
    ok(r, ['code']);
    ok(await call('POST', '/topic-metrics', { topic: lonely }), ['code']);
    const list = await get('/topic-metrics');
    ok(list);
    assert.deepEqual(list.body.data.map((row: { topic: string }) => row.topic), [topic, lonely], 'in registration order');
    for (const row of list.body.data) {
      assert.deepEqual(Object.keys(row).sort(), ['metrics', 'topic']);
      assertMetrics(row.metrics);
      assert.deepEqual(counts(row.metrics), zeroCounts);
    }
    const one = await get(`/topic-metrics/${enc(topic)}`);
    ok(one);
    assertMetrics(one.body.data);
    await everyNodeCounts([topic, lonely]);
  });

  it('counts real traffic from publishers on every node at QoS 0/1/2; the cluster answer sums the nodes', async (t) => {
    const sub = await connectClient(tcpUrl(cluster.c.node('n2').mqttPort), { clientId: uid('tm-sub') }, t);
    await sub.subscribe(`${topic.split('/')[0]}/#`, { qos: 2 });
    subs.push(sub);
    const pubs: Record<string, TestClient> = {};
    for (const n of SHORTS) {
      pubs[n] = await connectClient(tcpUrl(cluster.c.node(n).mqttPort), { clientId: uid(`tm-pub-${n}`) }, t);
      // probes on a topic that is not registered, under the same subscription
      await routed(pubs[n]!, sub, uid('tm/probe'));
    }
    const plan: [string, QoS, number][] = [
      ['n1', 0, 2],
      ['n1', 1, 3],
      ['n3', 2, 4],
      ['n2', 1, 1],
      ['n3', 0, 1],
    ];
    const from = sub.mark();
    for (const [n, qos, times] of plan) for (let i = 0; i < times; i++) await pubs[n]!.publish(topic, `${n}-${qos}-${i}`, { qos });
    await pubs.n1!.publish(uid('tm/other'), 'not registered', { qos: 1 });
    await pubs.n3!.publish(lonely, 'nobody listens', { qos: 1 });
    await sub.waitForMessages(11, { filter: topic, from });

    const want = {
      'messages.in.count': 11,
      'messages.qos0.in.count': 3,
      'messages.qos1.in.count': 4,
      'messages.qos2.in.count': 4,
      'messages.out.count': 11,
      'messages.qos0.out.count': 3,
      'messages.qos1.out.count': 4,
      'messages.qos2.out.count': 4,
      'messages.dropped.count': 0,
    };
    const one = await eventually(async () => {
      const r = await get(`/topic-metrics/${enc(topic)}`);
      ok(r);
      assert.deepEqual(counts(r.body.data), { ...zeroCounts, ...want });
      return r;
    });
    assertMetrics(one.body.data);
    // each node counted its own part: in where published, out where delivered
    const inOn = async (n: string) => (await nodeRows(n, topic))![0]!.metrics;
    const [m1, m2, m3] = await Promise.all(SHORTS.map(inOn));
    assert.deepEqual([m1!['messages.in.count'], m2!['messages.in.count'], m3!['messages.in.count']], [5, 1, 5]);
    assert.deepEqual([m1!['messages.out.count'], m2!['messages.out.count'], m3!['messages.out.count']], [0, 11, 0]);
    // published where nobody subscribes: in and dropped, on the node that dropped it
    const lonelyRow = (await get('/topic-metrics')).body.data.find((row: { topic: string }) => row.topic === lonely);
    assert.deepEqual(counts(lonelyRow.metrics), { ...zeroCounts, 'messages.in.count': 1, 'messages.qos1.in.count': 1, 'messages.dropped.count': 1 });
    assert.equal((await nodeRows('n3', lonely))![0]!.metrics['messages.dropped.count'], 1);
  });

  it('rates rise above zero after traffic (updated every second)', async () => {
    const r = await eventually(
      async () => {
        const now = await get(`/topic-metrics/${enc(topic)}`);
        assert.ok(now.body.data['messages.in.rate'] > 0 && now.body.data['messages.qos2.out.rate'] > 0, JSON.stringify(now.body.data));
        return now;
      },
      4000,
      200,
    );
    assert.ok(r.body.data['messages.in.rate'] <= 11, 'no more than the traffic');
  });

  it('DELETE /topic-metrics/{topic} unregisters it on every node; registered again it starts at zero', async () => {
    ok(await call('DELETE', `/topic-metrics/${enc(topic)}`), ['code']);
    fails(await get(`/topic-metrics/${enc(topic)}`), 404, 404);
    assert.deepEqual((await get('/topic-metrics')).body.data.map((row: { topic: string }) => row.topic), [lonely]);
    await everyNodeCounts([lonely]);
    ok(await call('POST', '/topic-metrics', { topic }), ['code']);
    await everyNodeCounts([lonely, topic]);
    assert.deepEqual(counts((await get(`/topic-metrics/${enc(topic)}`)).body.data), zeroCounts);
  });

  it('DELETE /topic-metrics unregisters every topic', async () => {
    ok(await call('DELETE', '/topic-metrics'), ['code']);
    assert.deepEqual((await get('/topic-metrics')).body.data, []);
    await everyNodeCounts([]);
    ok(await call('DELETE', '/topic-metrics'), ['code']);
  });
});

describe('limits and errors', () => {
  it('a topic registered already is 113; one that is no topic name 115; a missing or non-string topic 107/108', async () => {
    const topic = uid('tm/e');
    ok(await call('POST', '/topic-metrics', { topic }), ['code']);
    fails(await call('POST', '/topic-metrics', { topic }), 200, 113);
    for (const bad of ['tm/+', 'tm/#', '']) fails(await call('POST', '/topic-metrics', { topic: bad }), 400, 115);
    fails(await call('POST', '/topic-metrics', {}), 400, 107);
    fails(await call('POST', '/topic-metrics', { topic: 5 }), 400, 108);
    fails(await api(cluster.base, 'POST', '/api/v4/topic-metrics', { raw: '{"topic":' }), 400, 109);
    for (const method of ['GET', 'DELETE']) {
      fails(await call(method, `/topic-metrics/${enc('tm/+')}`), 400, 115);
      fails(await call(method, `/topic-metrics/${enc(uid('tm/unknown'))}`), 404, 404);
    }
    ok(await call('DELETE', '/topic-metrics'), ['code']);
  });

  it('at most 512 topics: the 513th is 102 "Quota exceeded"; deleting all frees them', async () => {
    // 511 straight into the cluster config, as the gateway writes them; the 512th through the API
    for (let i = 0; i < 511; i++) await cluster.c.store.configPut('topic_metrics', { topic: `tm/q/${i}`, create_time: Date.now() }, 'create');
    ok(await call('POST', '/topic-metrics', { topic: 'tm/q/511' }), ['code']);
    const over = await call('POST', '/topic-metrics', { topic: 'tm/q/512' });
    fails(over, 200, 102);
    assert.match(over.body.message, /Quota exceeded/);
    assert.equal((await get('/topic-metrics')).body.data.length, 512);
    await everyNodeCounts(Array.from({ length: 512 }, (_, i) => `tm/q/${i}`));
    ok(await call('DELETE', '/topic-metrics'), ['code']);
    assert.deepEqual((await get('/topic-metrics')).body.data, []);
    ok(await call('POST', '/topic-metrics', { topic: 'tm/q/512' }), ['code']);
    ok(await call('DELETE', '/topic-metrics'), ['code']);
  });
});
