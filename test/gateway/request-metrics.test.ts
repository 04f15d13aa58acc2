// The gateway's request metrics: every answered request counted under its endpoint's name
// and HTTP status, with its latency, on the success and the error paths alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../../gateway/server.js';
import { LATENCY_BUCKETS, RequestMetrics, type RequestSeries } from '../../gateway/metrics.js';
import { InProcessHub, InProcessRpcTransport } from '../../shared/cluster/in-process-rpc.js';
import { MemoryStore } from '../../shared/cluster/memory-store.js';
import { createLogger } from '../../shared/logger.js';
import { api } from '../support/gateway.js';

describe('RequestMetrics', () => {
  it('counts by endpoint and status, sums latency, fills cumulative buckets', async () => {
    const m = new RequestMetrics();
    m.observe('list_clients', 200, 0.003);
    m.observe('list_clients', 200, 0.2);
    m.observe('list_clients', 400, 20);
    m.observe('unknown', 404, 0.01);
    const [ok, bad] = (await m.snapshot()).filter((s) => s.endpoint === 'list_clients');
    assert.deepEqual([ok!.status, ok!.count, bad!.status, bad!.count], [200, 2, 400, 1]);
    assert.ok(Math.abs(ok!.sum - 0.203) < 1e-9);
    // 0.003 s is in every bucket, 0.2 s from the 0.25 s bucket on; 20 s in none (only +Inf, the count)
    assert.deepEqual(
      ok!.buckets,
      LATENCY_BUCKETS.map((le) => (le >= 0.25 ? 2 : 1)),
    );
    assert.deepEqual(bad!.buckets, LATENCY_BUCKETS.map(() => 0));
    // exactly at a bound counts in that bucket (Prometheus' `le`)
    assert.equal((await m.snapshot()).find((s) => s.endpoint === 'unknown')!.buckets[LATENCY_BUCKETS.indexOf(0.01)], 1);
  });
});

describe('a gateway counts its requests', () => {
  let gw: RunningGateway;
  let base: string;
  let store: MemoryStore;
  before(async () => {
    const log = createLogger('silent');
    store = new MemoryStore({ log });
    await store.start();
    // no node at all: the cluster-wide lists are empty, /status is 503
    const transport = new InProcessRpcTransport(new InProcessHub());
    gw = await startGateway({ transport, store, log, bind: '127.0.0.1', port: 0, rpcTimeoutMs: 1000, heartbeatTtlMs: 5000 });
    base = `http://127.0.0.1:${gw.port}`;
  });
  after(async () => {
    await gw?.close();
    await store?.close();
  });

  const series = async (endpoint: string, status: number): Promise<RequestSeries | undefined> => (await gw.requests.snapshot()).find((s) => s.endpoint === endpoint && s.status === status);
  const count = async (endpoint: string, status: number): Promise<number> => (await series(endpoint, status))?.count ?? 0;

  it('under the endpoint name on success, refusal and bad parameters', async () => {
    assert.equal((await api(base, 'GET', '/api/v4/brokers')).status, 200);
    assert.equal((await api(base, 'GET', '/api/v4/brokers')).status, 200);
    assert.equal((await api(base, 'GET', '/api/v4/brokers', { auth: null })).status, 401);
    assert.equal((await api(base, 'GET', '/api/v4/clients?_limit=x')).status, 400);
    // the first table entry that matches names it, as routing picks it
    assert.equal((await api(base, 'GET', '/api/v4/clients/username/bob')).status, 200);
    assert.equal((await api(base, 'POST', '/api/v4/mqtt/publish', { raw: '{not json' })).status, 400);
    assert.equal((await api(base, 'GET', '/status')).status, 503);
    assert.equal((await api(base, 'GET', '/api/v4')).status, 200);
    // the answer is sent before `finish` reports it: wait for the last one to land
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await count('list_brokers', 200), 2);
    assert.equal(await count('list_brokers', 401), 1);
    assert.equal(await count('list_clients', 400), 1);
    assert.equal(await count('lookup_client_via_username', 200), 1);
    assert.equal(await count('lookup_client', 200), 0);
    assert.equal(await count('mqtt_publish', 400), 1);
    assert.equal(await count('status', 503), 1);
    assert.equal(await count('list_endpoints', 200), 1);
    // the error path is timed too, not reported as 0 seconds
    const refused = (await series('list_clients', 400))!;
    assert.ok(refused.sum > 0, `sum ${refused.sum}`);
    assert.equal(refused.buckets.at(-1), 1);
  });

  it('a path no table has as "unknown"', async () => {
    const before = await count('unknown', 404);
    assert.equal((await api(base, 'GET', '/api/v4/no/such/path')).status, 404);
    assert.equal((await api(base, 'GET', '/nothing/here')).status, 404);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await count('unknown', 404), before + 2);
  });
});
