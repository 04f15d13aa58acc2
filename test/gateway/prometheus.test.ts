// GET /metrics of a real gateway process over a real 3-node cluster: every node's EMQX
// metrics and stats with a `node` label, the up gauge, the gateway's own requests and
// RPCs, the scrape cache (concurrent scrapes cost one RPC per node), and a killed node
// reported down while the scrape still answers 200.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { eventually, fullName, sleep, startCluster, type TestCluster } from '../support/cluster.js';
import { api, ok, startGateway, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';
import { scrapeMetrics } from '../support/prometheus-text.js';

const CACHE_MS = 2000;
const NODES = ['n1', 'n2', 'n3'];
let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;

before(async () => {
  c = await startCluster(NODES);
  gw = await startGateway(c, { STARLING_METRICS_CACHE_MS: String(CACHE_MS), STARLING_METRICS_TIMEOUT_MS: '1000' });
  // the gateway sees every node once its heartbeat is in Redis
  await eventually(async () => assert.equal((await api(gw!.url, 'GET', '/api/v4/nodes')).body.data.length, 3), 10_000, 100);
});

after(async () => {
  await closeAllClients();
  await gw?.stop();
  await c?.stop();
});

const up = (short: string) => `starling_node_up{node="${fullName(short)}"}`;
const scrapeRpcs = (s: Map<string, number>, short: string) => s.get(`starling_gateway_rpc_duration_seconds_count{method="metrics.scrape",node="${fullName(short)}"}`) ?? 0;
/** A scrape that comes after the cache interval: it reflects the cluster as it is now. */
const fresh = async () => {
  await sleep(CACHE_MS + 50);
  return scrapeMetrics(gw!.url);
};

it('answers without credentials: each node up, its stats and metrics labelled with its name, the process metrics', async () => {
  const { text, samples } = await scrapeMetrics(gw!.url);
  for (const n of NODES) {
    assert.equal(samples.get(up(n)), 1, n);
    assert.equal(typeof samples.get(`starling_connections_count{node="${fullName(n)}"}`), 'number', n);
    assert.equal(typeof samples.get(`starling_messages_received_total{node="${fullName(n)}"}`), 'number', n);
  }
  assert.match(text, /^# TYPE starling_messages_qos1_received_total counter$/m);
  assert.match(text, /^# TYPE starling_connections_count gauge$/m);
  assert.match(text, /^# TYPE starling_cluster_connections_count gauge$/m);
  assert.match(text, /^process_resident_memory_bytes \d+/m);
});

it('a counter and a stat move with real MQTT traffic, per node and in the cluster total', async (t) => {
  const before = (await fresh()).samples;
  const n1 = fullName('n1');
  const topic = `prom/${uid('t')}`;
  const sub = await connectClient(tcpUrl(c!.node('n2').mqttPort), { clientId: uid('sub') }, t);
  await sub.subscribe(topic, { qos: 1 });
  const pub = await connectClient(tcpUrl(c!.node('n1').mqttPort), { clientId: uid('pub') }, t);
  for (let i = 0; i < 5; i++) await pub.publish(topic, `m${i}`, { qos: 1 });
  await sub.waitForMessage((m) => m.payload === 'm4');
  const after = (await fresh()).samples;
  const key = `starling_messages_qos1_received_total{node="${n1}"}`;
  assert.equal(after.get(key)! - before.get(key)!, 5);
  assert.equal(after.get('starling_cluster_messages_qos1_received_total')! - before.get('starling_cluster_messages_qos1_received_total')!, 5);
  assert.equal(after.get(`starling_connections_count{node="${n1}"}`), before.get(`starling_connections_count{node="${n1}"}`)! + 1);
  assert.equal(after.get(`starling_connections_count{node="${fullName('n2')}"}`), before.get(`starling_connections_count{node="${fullName('n2')}"}`)! + 1);
  const cluster = NODES.reduce((a, n) => a + after.get(`starling_connections_count{node="${fullName(n)}"}`)!, 0);
  assert.equal(after.get('starling_cluster_connections_count'), cluster);
});

it("counts the gateway's own requests by endpoint and status, and its RPCs by method and node", async () => {
  const before = (await scrapeMetrics(gw!.url)).samples;
  ok(await api(gw!.url, 'GET', '/api/v4/nodes'));
  assert.equal((await api(gw!.url, 'GET', '/api/v4/nodes', { auth: 'admin:wrong' })).status, 401);
  const { samples } = await scrapeMetrics(gw!.url);
  const count = (s: Map<string, number>, k: string) => s.get(k) ?? 0;
  const nodes200 = 'starling_gateway_http_request_duration_seconds_count{endpoint="list_nodes",status="200"}';
  const nodes401 = 'starling_gateway_http_request_duration_seconds_count{endpoint="list_nodes",status="401"}';
  assert.equal(count(samples, nodes200) - count(before, nodes200), 1);
  assert.equal(count(samples, nodes401) - count(before, nodes401), 1);
  assert.ok(samples.has('starling_gateway_http_request_duration_seconds_bucket{le="0.05",endpoint="list_nodes",status="200"}'));
  // the scrape itself is a request too (answered before this one)
  assert.ok(count(samples, 'starling_gateway_http_request_duration_seconds_count{endpoint="prometheus",status="200"}') >= 2);
  for (const n of NODES) {
    const k = `starling_gateway_rpc_duration_seconds_count{method="nodes.get",node="${fullName(n)}"}`;
    assert.equal(count(samples, k) - count(before, k), 1, k);
    assert.ok(samples.has(`starling_gateway_rpc_duration_seconds_sum{method="nodes.get",node="${fullName(n)}"}`));
  }
});

it('concurrent scrapes within the cache interval cost one metrics.scrape RPC per node', async () => {
  const before = (await fresh()).samples;
  await sleep(CACHE_MS + 50);
  const answers = await Promise.all(Array.from({ length: 10 }, () => scrapeMetrics(gw!.url)));
  const { samples } = await scrapeMetrics(gw!.url);
  for (const n of NODES) assert.equal(scrapeRpcs(samples, n) - scrapeRpcs(before, n), 1, n);
  // all ten saw the same round
  const values = answers.map((a) => a.samples.get(`starling_connections_max{node="${fullName('n1')}"}`));
  assert.ok(values.every((v) => v === values[0]));
});

it('kill -9 of a node: the next scrape answers 200 with its up gauge at 0, and keeps it after the purge', async () => {
  await c!.node('n3').kill9();
  const dead = fullName('n3');
  const { samples, text } = await eventually(async () => {
    const s = await scrapeMetrics(gw!.url);
    assert.equal(s.samples.get(up('n3')), 0);
    return s;
  }, 3 * CACHE_MS + 2000, 200);
  assert.equal(samples.get(up('n1')), 1);
  assert.equal(samples.get(up('n2')), 1);
  assert.equal(samples.get(`starling_connections_count{node="${dead}"}`), undefined);
  assert.ok(!text.split('\n').some((l) => l.includes(`node="${dead}"`) && /^starling_(?!node_up|gateway_)/.test(l)), 'no broker series for the dead node');
  // the survivors purge it from the registry a heartbeat after its TTL; the gateway still reports it down
  await eventually(async () => assert.ok(!(await c!.store.nodes()).some((n) => n.name === dead)), 5000, 100);
  const later = (await fresh()).samples;
  assert.equal(later.get(up('n3')), 0);
  assert.equal(later.get(up('n1')), 1);
});
