// A real Prometheus (`npm run cluster`'s, with the shared deploy/prometheus.yml: every 5 s)
// scrapes both gateways' /metrics: its query API has a node-labelled series for each of
// the 3 nodes, and after `kill -9` of a node its up gauge goes to 0.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { launchCluster, type LaunchedCluster } from '../support/local-cluster.js';
import { eventually } from '../support/wait.js';

const NODE_NAMES = ['n1@127.0.0.1', 'n2@127.0.0.1', 'n3@127.0.0.1'];
/** Two scrape intervals and the gateway's cache, with room for a loaded machine. */
const SCRAPED_WITHIN_MS = 20_000;
const BOUNDED = { timeout: 45_000 };

let c: LaunchedCluster;

before(async () => {
  c = await launchCluster();
}, { timeout: 120_000 });

after(async () => {
  if (c) {
    await c.stop(15_000);
    await c.destroy();
  }
}, { timeout: 60_000 });

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query through Prometheus' HTTP API. */
async function query(q: string): Promise<Series[]> {
  const res = await fetch(`http://127.0.0.1:${c.ports.prometheus}/api/v1/query?query=${encodeURIComponent(q)}`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { status: string; data: { resultType: string; result: Series[] } };
  assert.equal(body.status, 'success');
  assert.equal(body.data.resultType, 'vector');
  return body.data.result;
}

/** Node → values of `q`'s series for it, over both gateways. */
async function byNode(q: string): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const s of await query(q)) {
    const node = s.metric.node!;
    out.set(node, [...(out.get(node) ?? []), Number(s.value[1])]);
  }
  return out;
}

it('Prometheus has starling_node_up and a broker metric for each of the 3 nodes, from both gateways', BOUNDED, async () => {
  await eventually(async () => {
    const up = await byNode('starling_node_up');
    assert.deepEqual([...up.keys()].sort(), NODE_NAMES);
    for (const n of NODE_NAMES) assert.deepEqual(up.get(n), [1, 1], n);
    const conns = await byNode('starling_connections_count');
    assert.deepEqual([...conns.keys()].sort(), NODE_NAMES);
    const series = await query('starling_connections_count');
    assert.deepEqual([...new Set(series.map((s) => s.metric.gateway))].sort(), ['gw1', 'gw2']);
    assert.ok(series.every((s) => s.metric.job === 'starling-gateway'));
  }, SCRAPED_WITHIN_MS, 500);
  // the gateway's own metrics too: its scrapes, counted once answered, so from each gateway's second scrape on
  await eventually(async () => {
    const scrapes = await query('starling_gateway_http_request_duration_seconds_count{endpoint="prometheus",status="200"}');
    assert.deepEqual(scrapes.map((s) => s.metric.gateway).sort(), ['gw1', 'gw2']);
  }, SCRAPED_WITHIN_MS, 500);
});

it('kill -9 of a node: its up gauge goes to 0 in Prometheus, the others stay 1', BOUNDED, async () => {
  process.kill(c.row('n3').pid, 'SIGKILL');
  await eventually(async () => {
    const up = await byNode('starling_node_up');
    assert.deepEqual(up.get('n3@127.0.0.1'), [0, 0]);
    assert.deepEqual(up.get('n1@127.0.0.1'), [1, 1]);
    assert.deepEqual(up.get('n2@127.0.0.1'), [1, 1]);
  }, SCRAPED_WITHIN_MS, 500);
  // its broker metrics are gone from the latest scrapes (stale in Prometheus), the survivors' are there
  await eventually(async () => assert.deepEqual([...(await byNode('starling_connections_count')).keys()].sort(), NODE_NAMES.slice(0, 2)), SCRAPED_WITHIN_MS, 500);
});
