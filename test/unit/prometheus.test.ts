// GET /metrics' parts without a cluster: the naming rule and the
// exposition of a round over fake nodes on an in-process hub (one answering, one silent
// past the timeout, one whose heartbeat is stale), through a real gateway.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { METRIC_NAMES, STAT_NAMES } from '../../shared/emqx-names.js';
import { exposition } from '../../gateway/prometheus/exposition.js';
import { prometheusName } from '../../gateway/prometheus/names.js';
import { startFakeCluster, type FakeCluster } from '../support/fake-nodes.js';
import { api } from '../support/gateway.js';

describe('the Prometheus name of an EMQX metric or stat', () => {
  it('follows the one rule', () => {
    const table: [string, 'counter' | 'gauge', 'node' | 'cluster', string][] = [
      ['messages.qos1.received', 'counter', 'node', 'starling_messages_qos1_received_total'],
      ['packets.connack.auth_error', 'counter', 'node', 'starling_packets_connack_auth_error_total'],
      ['delivery.dropped.too_large', 'counter', 'node', 'starling_delivery_dropped_too_large_total'],
      ['bytes.received', 'counter', 'cluster', 'starling_cluster_bytes_received_total'],
      ['connections.count', 'gauge', 'node', 'starling_connections_count'],
      ['connections.max', 'gauge', 'node', 'starling_connections_max'],
      ['subscriptions.shared.count', 'gauge', 'node', 'starling_subscriptions_shared_count'],
      ['connections.count', 'gauge', 'cluster', 'starling_cluster_connections_count'],
      ['Some-Odd.Name', 'gauge', 'node', 'starling_some_odd_name'],
    ];
    for (const [emqx, kind, scope, want] of table) assert.equal(prometheusName(emqx, kind, scope), want, `${emqx} (${kind}, ${scope})`);
  });

  it('gives every declared name a legal, distinct Prometheus name', () => {
    const all = [...METRIC_NAMES.map((n) => prometheusName(n, 'counter')), ...STAT_NAMES.flatMap((n) => [`${n}.count`, `${n}.max`]).map((n) => prometheusName(n, 'gauge'))];
    for (const n of all) assert.match(n, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
    assert.equal(new Set(all).size, all.length);
  });
});

describe('the exposition of a round', () => {
  it('with no node answering: only the up gauges, no totals that would read as counter resets', async () => {
    const text = await exposition({ at: 0, nodes: [{ node: 'a@host', up: false, error: 'timeout' }, { node: 'b@host', up: false }] });
    const samples = text.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(samples, ['starling_node_up{node="a@host"} 0', 'starling_node_up{node="b@host"} 0']);
  });
});

describe('GET /metrics over fake nodes', () => {
  const TIMEOUT_MS = 200;
  let fake: FakeCluster;
  let base: string;

  before(async () => {
    const metrics = Object.fromEntries(METRIC_NAMES.map((n) => [n, 0]));
    fake = await startFakeCluster(
      [
        {
          name: 'a@host',
          handler: async (method) => {
            assert.equal(method, 'metrics.scrape');
            // with garbage a newer or broken node could send: a name the rule maps onto the up gauge, a negative counter
            return { metrics: { ...metrics, 'messages.qos1.received': 42, 'bytes.sent': -1 }, stats: { 'connections.count': 7, 'connections.max': 9, 'node.up': 5 } };
          },
        },
        // registered and heartbeating, but never answering within the timeout
        { name: 'b@host', handler: () => new Promise((r) => setTimeout(r, 5 * TIMEOUT_MS)) },
        // dead, not purged yet: its heartbeat is older than the TTL; no RPC is made to it
        { name: 'c@host', heartbeatIn: -60_000 },
      ],
      { metricsTimeoutMs: TIMEOUT_MS, metricsCacheMs: 0 },
    );
    base = fake.base;
  });
  after(() => fake?.close());

  it('answers 200 with each node up or down, and the answering node\'s metrics', async () => {
    const t0 = Date.now();
    const r = await api(base, 'GET', '/metrics', { auth: null });
    assert.ok(Date.now() - t0 < 5 * TIMEOUT_MS, 'the silent node is given up on at the timeout');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = r.body as string;
    const line = (l: string) => assert.ok(text.split('\n').includes(l), `no line ${l}`);
    line('starling_node_up{node="a@host"} 1');
    line('starling_node_up{node="b@host"} 0');
    line('starling_node_up{node="c@host"} 0');
    line('# TYPE starling_messages_qos1_received_total counter');
    line('starling_messages_qos1_received_total{node="a@host"} 42');
    line('starling_cluster_messages_qos1_received_total 42');
    line('# TYPE starling_connections_count gauge');
    line('starling_connections_count{node="a@host"} 7');
    line('starling_connections_max{node="a@host"} 9');
    line('starling_cluster_connections_count 7');
    // a node down has no broker series in this scrape, only its up gauge (and the gateway's RPC series)
    const ofDown = text.split('\n').filter((l) => /node="[bc]@host"/.test(l) && !/^starling_(node_up|gateway_)/.test(l));
    assert.deepEqual(ofDown, []);
    // the garbage is left out, never failing the scrape
    assert.ok(!text.includes('starling_bytes_sent_total{'), 'no negative counter');
    assert.equal(text.split('\n').filter((l) => l.startsWith('starling_node_up{node="a@host"}')).length, 1);
    // the failed RPC is counted as one, the stale node was not asked
    line('starling_gateway_rpc_errors_total{method="metrics.scrape",node="b@host"} 1');
    assert.doesNotMatch(text, /rpc_duration_seconds_count\{method="metrics\.scrape",node="c@host"\}/);
    // the process metrics of the gateway
    line('# TYPE process_cpu_seconds_total counter');
    assert.match(text, /^nodejs_heap_size_used_bytes \d+/m);
  });

  it('with metricsAuth, asks for an API app\'s credentials', async () => {
    const locked = await fake.gateway({ metricsTimeoutMs: TIMEOUT_MS, metricsAuth: true });
    const url = `http://127.0.0.1:${locked.port}`;
    const refused = await api(url, 'GET', '/metrics', { auth: null });
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    assert.equal((await api(url, 'GET', '/metrics', { auth: 'admin:wrong' })).status, 401);
    const r = await api(url, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.body as string, /^starling_node_up\{node="a@host"\} 1$/m);
  });
});
