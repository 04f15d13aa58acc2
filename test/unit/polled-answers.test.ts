// API GETs that accept a cached answer (Cache-Control: max-age, as the dashboard's timer
// polls send), through a real gateway over fake nodes: concurrent pollers cost each node
// one RPC per interval, other requests are answered fresh, and a node that stops
// answering is still named in a 101, to every poller. The interval is long, so that no
// assertion depends on how fast the machine is; "past the interval" is a reader asking
// for an answer younger than one second, after a second.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { METRIC_NAMES } from '../../shared/emqx-names.js';
import type { RequestHandler } from '../../shared/cluster/rpc-transport.js';
import { startFakeCluster, type FakeCluster } from '../support/fake-nodes.js';
import { api, type ApiAnswer } from '../support/gateway.js';
import { sleep } from '../support/wait.js';

const NODES = ['a@host', 'b@host'];
const POLLERS = 20;
const LONG = 'max-age=600';

describe('GETs that accept a cached answer', () => {
  let fake: FakeCluster;
  /** RPCs each fake node answered, by method */
  const calls = new Map<string, number>();
  const asked = (node: string, method: string): number => calls.get(`${node} ${method}`) ?? 0;
  const handler =
    (node: string): RequestHandler =>
    async (method) => {
      calls.set(`${node} ${method}`, asked(node, method) + 1);
      if (method === 'metrics.scrape') return { metrics: Object.fromEntries(METRIC_NAMES.map((n) => [n, 1])), stats: { 'connections.count': 1 } };
      return { node, node_status: 'Running' };
    };
  const poll = (path: string, header = LONG): Promise<ApiAnswer> =>
    fetch(`${fake.base}${path}`, { headers: { authorization: `Basic ${Buffer.from('admin:public').toString('base64')}`, 'cache-control': header } }).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json().catch(() => undefined) }));
  const polls = (path: string, header?: string): Promise<ApiAnswer[]> => Promise.all(Array.from({ length: POLLERS }, () => poll(path, header)));
  /** a reader of `path` that accepts at most a second's age, a second later: asks the nodes again */
  const pastInterval = async (path: string): Promise<ApiAnswer> => {
    await sleep(1100);
    return poll(path, 'max-age=1');
  };

  before(async () => {
    fake = await startFakeCluster(
      NODES.map((name) => ({ name, handler: handler(name) })),
      { rpcTimeoutMs: 1000, metricsCacheMs: 600_000 },
    );
  });
  after(() => fake?.close());

  it('answers concurrent pollers of a URL from one fan-out, with its Age', async () => {
    calls.clear();
    const answers = await polls('/api/v4/nodes');
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.equal(a.body.code, 0);
      assert.deepEqual(a.body.data.map((n: { node: string }) => n.node), NODES);
      assert.match(a.headers.get('age') ?? '', /^\d+$/);
    }
    assert.equal((await poll('/api/v4/nodes')).body.code, 0);
    for (const n of NODES) assert.equal(asked(n, 'nodes.get'), 1, n);
    // another URL (a node's own form, a query string) is its own answer
    await polls('/api/v4/nodes/a@host');
    await polls('/api/v4/nodes?x=1');
    assert.equal(asked('a@host', 'nodes.get'), 3);
    assert.equal(asked('b@host', 'nodes.get'), 2);
    assert.equal((await pastInterval('/api/v4/nodes')).body.code, 0);
    assert.equal(asked('a@host', 'nodes.get'), 4);
    assert.equal(asked('b@host', 'nodes.get'), 3);
  });

  it('answers every other request fresh: no header, no-cache, max-age=0', async () => {
    for (const header of [undefined, 'no-cache', 'max-age=0']) {
      calls.clear();
      const answers = await Promise.all(Array.from({ length: 5 }, () => (header ? poll('/api/v4/nodes', header) : api(fake.base, 'GET', '/api/v4/nodes'))));
      for (const a of answers) assert.equal(a.body.code, 0);
      for (const n of NODES) assert.equal(asked(n, 'nodes.get'), 5, `${n} with ${String(header)}`);
    }
  });

  it('names a node that stopped answering in a 101, to every poller of the round', async () => {
    const path = '/api/v4/nodes?while=b-down';
    calls.clear();
    await fake.transports.get('b@host')!.close();
    try {
      const answers = await polls(path);
      for (const a of answers) {
        assert.equal(a.status, 200);
        assert.equal(a.body.code, 101);
        assert.match(a.body.message, /b@host/);
      }
      assert.equal(asked('a@host', 'nodes.get'), 1, 'one round for all the pollers');
    } finally {
      await fake.serve('b@host', handler('b@host'));
    }
    assert.equal((await pastInterval(path)).body.code, 0, 'the failure is an answer of its round, not kept for good');
  });

  it("GET /metrics: pollers share the whole text of the interval, Prometheus gets the gateway's own part fresh", async () => {
    calls.clear();
    const answers = await Promise.all(Array.from({ length: POLLERS }, () => fetch(`${fake.base}/metrics`, { headers: { 'cache-control': LONG } }).then((r) => r.text())));
    assert.equal(new Set(answers).size, 1, 'one text for every poller');
    assert.match(answers[0]!, /^starling_cluster_connections_count 2$/m);
    for (const n of NODES) assert.equal(asked(n, 'metrics.scrape'), 1, n);
    const count = (text: string) => Number(/^starling_gateway_http_request_duration_seconds_count\{endpoint="prometheus",status="200"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    const a = await (await fetch(`${fake.base}/metrics`)).text();
    const b = await (await fetch(`${fake.base}/metrics`)).text();
    assert.equal(count(b), count(a) + 1, 'a scrape without the header sees the request before it');
    for (const n of NODES) assert.equal(asked(n, 'metrics.scrape'), 1, `${n}: the nodes' part is still the interval's`);
  });
});
