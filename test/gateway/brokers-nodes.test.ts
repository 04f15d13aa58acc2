// GET /api/v4 (the endpoint list), /brokers and /nodes (cluster-wide and one node) through
// a real gateway process on a three-node cluster: EMQX's field names and types, node
// order, node names URL-encoded or not, unknown nodes, and a body over the limit.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { api, startGateway, type GatewayProcess } from '../support/gateway.js';

let c: TestCluster;
let gw: GatewayProcess;

before(async () => {
  c = await startCluster(['n1', 'n2', 'n3']);
  gw = await startGateway(c);
});

after(async () => {
  await gw?.stop();
  await c?.stop();
});

const NODES = ['n1@127.0.0.1', 'n2@127.0.0.1', 'n3@127.0.0.1'];

// the spec's example keys and JSON types (GET /api/v4/brokers)
const BROKER_TYPES = { version: 'string', uptime: 'string', sysdescr: 'string', otp_release: 'string', node_status: 'string', node: 'string', datetime: 'string' };
// GET /api/v4/nodes: the table's types (memory as EMQX formats it, "96.75M")
const NODE_TYPES = {
  version: 'string',
  uptime: 'string',
  process_used: 'number',
  process_available: 'number',
  otp_release: 'string',
  node_status: 'string',
  node: 'string',
  memory_used: 'string',
  memory_total: 'string',
  max_fds: 'number',
  load1: 'string',
  load5: 'string',
  load15: 'string',
  connections: 'number',
};

function shape(row: Record<string, unknown>, types: Record<string, string>): void {
  assert.deepEqual(Object.keys(row).sort(), Object.keys(types).sort());
  for (const [k, t] of Object.entries(types)) assert.equal(typeof row[k], t, `${k} is a ${t}`);
}

it('GET /api/v4 lists every endpoint with path, name, method and descr, generated from the tables', async () => {
  const r = await api(gw.url, 'GET', '/api/v4');
  assert.equal(r.status, 200);
  assert.equal(r.body.code, 0);
  const rows = r.body.data as { path: string; name: string; method: string; descr: string }[];
  for (const row of rows) {
    assert.deepEqual(Object.keys(row).sort(), ['descr', 'method', 'name', 'path']);
    assert.match(row.method, /^(GET|POST|PUT|DELETE)$/);
    assert.ok(row.path.startsWith('/') && row.name.length > 0 && row.descr.length > 0, JSON.stringify(row));
  }
  const has = (method: string, path: string) => rows.some((e) => e.method === method && e.path === path);
  for (const [m, p] of [
    ['GET', '/brokers'],
    ['GET', '/nodes/:node'],
    ['GET', '/clients'],
    ['DELETE', '/clients/:clientid'],
    ['GET', '/subscriptions'],
    ['GET', '/routes'],
    ['POST', '/mqtt/publish'],
    ['POST', '/mqtt/subscribe_batch'],
    ['GET', '/banned'],
    ['DELETE', '/acl-cache'],
    ['GET', '/apps'],
  ]) {
    assert.ok(has(m!, p!), `${m} ${p} listed`);
  }
  assert.equal(new Set(rows.map((e) => `${e.method} ${e.path}`)).size, rows.length, 'no endpoint twice');
});

it('GET /brokers and /nodes answer one row per live node, in node order, with the spec types', async () => {
  const b = await api(gw.url, 'GET', '/api/v4/brokers');
  assert.equal(b.body.code, 0);
  assert.deepEqual(b.body.data.map((r: { node: string }) => r.node), NODES);
  for (const row of b.body.data) {
    shape(row, BROKER_TYPES);
    assert.equal(row.node_status, 'Running');
    assert.match(row.datetime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.match(row.uptime, /seconds$/);
  }
  const n = await api(gw.url, 'GET', '/api/v4/nodes');
  assert.equal(n.body.code, 0);
  assert.deepEqual(n.body.data.map((r: { node: string }) => r.node), NODES);
  for (const row of n.body.data) {
    shape(row, NODE_TYPES);
    assert.match(row.memory_total, /^\d+\.\d\d[KMG]$/);
    assert.match(row.load1, /^\d+\.\d\d$/);
  }
});

it('GET /brokers/{node} and /nodes/{node} answer that node as an object, its name URL-encoded or not', async () => {
  for (const path of ['n2@127.0.0.1', encodeURIComponent('n2@127.0.0.1')]) {
    const b = await api(gw.url, 'GET', `/api/v4/brokers/${path}`);
    assert.equal(b.body.code, 0);
    shape(b.body.data, BROKER_TYPES);
    assert.equal(b.body.data.node, 'n2@127.0.0.1');
    const n = await api(gw.url, 'GET', `/api/v4/nodes/${path}`);
    shape(n.body.data, NODE_TYPES);
    assert.equal(n.body.data.node, 'n2@127.0.0.1');
  }
});

it('an unknown node is 404 with a JSON body, at once', async () => {
  for (const path of ['/api/v4/brokers/nobody@127.0.0.1', '/api/v4/nodes/nobody@127.0.0.1']) {
    const t0 = Date.now();
    const r = await api(gw.url, 'GET', path);
    assert.equal(r.status, 404);
    assert.equal(r.body.code, 404);
    assert.match(r.body.message, /nobody@127\.0\.0\.1/);
    assert.ok(Date.now() - t0 < 500, 'no RPC timeout waited');
  }
});

it('a request body over the limit is refused with a JSON error, the gateway keeps serving', async () => {
  const big = { topic: 't', payload: 'x'.repeat(2 * 1024 * 1024) };
  const r = await api(gw.url, 'POST', '/api/v4/mqtt/publish', { body: big });
  assert.equal(r.status, 413);
  assert.equal(r.body.code, 108);
  assert.equal((await api(gw.url, 'GET', '/api/v4/brokers')).body.code, 0);
});

it('a failing request never answers HTML or a stack trace', async () => {
  const r = await api(gw.url, 'POST', '/api/v4/mqtt/publish', { raw: '{"topic": ' });
  assert.equal(r.status, 400);
  assert.deepEqual(Object.keys(r.body).sort(), ['code', 'message']);
  assert.equal(r.body.code, 109);
  assert.doesNotMatch(JSON.stringify(r.body), /at .*\.js:\d+/);
});
