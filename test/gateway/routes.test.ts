// The routes API (GET /api/v4/routes, /routes/{topic}) through a real gateway process over
// a real three-node cluster: row shape as the EMQX v4 spec gives it, paging over every
// node's routes in node order, lookups by topic, result codes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, fullName, startCluster, type TestCluster } from '../support/cluster.js';
import { unauthorized, BAD_CREDENTIALS, fails, ok, api, startGateway, type ApiAnswer, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
const subs: Record<string, TestClient> = {};

const get = (path: string, auth?: string | null): Promise<ApiAnswer> => api(gw!.url, 'GET', `/api/v4${path}`, { auth });
const enc = encodeURIComponent;

/** The spec's route row: exactly topic and node, both strings. */
function assertRow(row: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(row).sort(), ['node', 'topic']);
  assert.equal(typeof row.topic, 'string');
  assert.equal(typeof row.node, 'string');
}

const pair = (r: { node: string; topic: string }): string => `${r.node} ${r.topic}`;

// Each node lists its own filters sorted; a shared subscription routes its plain filter.
const EXPECTED = [
  [fullName('n1'), 'rt/+/c'],
  [fullName('n1'), 'rt/a'],
  [fullName('n2'), 'rt/a'],
  [fullName('n2'), 'rt/s'],
  [fullName('n3'), 'rt/z'],
].map(([node, topic]) => `${node} ${topic}`);

before(async () => {
  c = await startCluster(['n1', 'n2', 'n3']);
  gw = await startGateway(c);
  const plan: [string, string[]][] = [
    ['n1', ['rt/a', 'rt/+/c']],
    ['n2', ['rt/a', '$share/g/rt/s']],
    ['n3', ['rt/z']],
  ];
  for (const [node, topics] of plan) {
    subs[node] = await connectClient(tcpUrl(c.node(node).mqttPort), { clientId: uid(`rt-${node}`) });
    for (const t of topics) await subs[node]!.subscribe(t, { qos: 1 });
  }
});

after(async () => {
  await closeAllClients();
  await gw?.stop();
  await c?.stop();
});

describe('GET /routes', () => {
  it("pages every node's routes in node order, with meta", async () => {
    const all = await get('/routes');
    ok(all, ['code', 'data', 'meta']);
    assert.deepEqual(all.body.meta, { page: 1, limit: 10000, count: 5, hasnext: false });
    all.body.data.forEach(assertRow);
    assert.deepEqual(all.body.data.map(pair), EXPECTED);

    const seen: string[] = [];
    for (const [page, n, hasnext] of [
      [1, 2, true],
      [2, 2, true],
      [3, 1, false],
      [4, 0, false],
    ] as const) {
      const r = await get(`/routes?_page=${page}&_limit=2`);
      ok(r, ['code', 'data', 'meta']);
      assert.deepEqual(r.body.meta, { page, limit: 2, count: 5, hasnext });
      assert.equal(r.body.data.length, n);
      seen.push(...r.body.data.map(pair));
    }
    assert.deepEqual(seen, EXPECTED);
  });

  it('bad _page/_limit: 400 with 108', async () => {
    for (const qs of ['_page=0', '_page=-2', '_limit=x', '_limit=0', '_limit=1e3']) fails(await get(`/routes?${qs}`), 400, 108);
  });
});

describe('GET /routes/{topic}', () => {
  it('the routes of exactly that topic (URL-encoded)', async () => {
    const cases: [string, string[]][] = [
      ['rt/a', [`${fullName('n1')} rt/a`, `${fullName('n2')} rt/a`]],
      ['rt/+/c', [`${fullName('n1')} rt/+/c`]],
      ['rt/s', [`${fullName('n2')} rt/s`]],
      // exact, not matched as a filter against a name
      ['rt/b/c', []],
      ['rt', []],
      ['nothing', []],
    ];
    for (const [topic, want] of cases) {
      const r = await get(`/routes/${enc(topic)}`);
      ok(r);
      r.body.data.forEach(assertRow);
      assert.deepEqual(r.body.data.map(pair), want, topic);
    }
  });

  it('follows unsubscribe', async () => {
    await subs.n3!.unsubscribe('rt/z');
    await eventually(async () => assert.deepEqual((await get(`/routes/${enc('rt/z')}`)).body, { code: 0, data: [] }));
    assert.equal((await get('/routes')).body.meta.count, 4);
  });
});

describe('errors', () => {
  it('401 without or with wrong credentials', async () => {
    for (const [auth, code] of BAD_CREDENTIALS) unauthorized(await get('/routes', auth), code);
  });

  it('404 with a JSON body for a topic given unencoded (an unknown path)', async () => {
    fails(await get('/routes/rt/a'), 404, 404);
  });
});
