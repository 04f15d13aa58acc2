// The subscriptions API (GET /api/v4/subscriptions..., /nodes/{node}/subscriptions...)
// through a real gateway process over a real three-node cluster: row shape as the EMQX v4
// spec gives it, paging across nodes, the 4.1 filters, result codes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, fullName, startCluster, type TestCluster } from '../support/cluster.js';
import { unauthorized, BAD_CREDENTIALS, fails, ok, api, startGateway, type ApiAnswer, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, tcpUrl, uid, type QoS, type TestClient } from '../support/mqtt-clients.js';

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;

const get = (path: string, auth?: string | null): Promise<ApiAnswer> => api(gw!.url, 'GET', `/api/v4${path}`, { auth });
const enc = encodeURIComponent;

interface Row {
  node: string;
  clientid: string;
  topic: string;
  qos: number;
}

/** The spec's subscription row: exactly node, clientid, topic (strings) and qos (integer). */
function assertRow(row: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(row).sort(), ['clientid', 'node', 'qos', 'topic']);
  for (const k of ['node', 'clientid', 'topic']) assert.equal(typeof row[k], 'string', k);
  assert.ok(Number.isInteger(row.qos), `qos ${JSON.stringify(row.qos)}`);
}

const key = (r: Row): string => `${r.node} ${r.clientid} ${r.topic} ${r.qos}`;

// who subscribes to what, on which node; one SUBSCRIBE per topic so the order is known
const PLAN: { node: string; name: string; subs: [string, QoS][] }[] = [
  { node: 'n1', name: 'a', subs: [['sub/a', 0], ['sub/+/c', 1]] },
  { node: 'n1', name: 'b', subs: [['$share/g1/sub/s', 1]] },
  { node: 'n2', name: 'c', subs: [['sub/a', 2], ['sub/b/c', 1], ['$queue/sub/q', 0]] },
  { node: 'n3', name: 'd', subs: [['sub/#', 1], ['other/x', 0]] },
];
const ids: Record<string, string> = {};
const clients: Record<string, TestClient> = {};
/** every row, in the order the API pages them: node name, session order, subscription order */
const expected: Row[] = [];

before(async () => {
  c = await startCluster(['n1', 'n2', 'n3']);
  gw = await startGateway(c);
  for (const p of PLAN) {
    const id = uid(`sub-${p.name}`);
    ids[p.name] = id;
    clients[p.name] = await connectClient(tcpUrl(c.node(p.node).mqttPort), { clientId: id });
    for (const [topic, qos] of p.subs) {
      await clients[p.name]!.subscribe(topic, { qos });
      expected.push({ node: fullName(p.node), clientid: id, topic, qos });
    }
  }
});

after(async () => {
  await closeAllClients();
  await gw?.stop();
  await c?.stop();
});

describe('GET /subscriptions', () => {
  it('pages every subscription once across nodes, in node order, with meta', async () => {
    const seen: Row[] = [];
    for (const [page, n, hasnext] of [
      [1, 3, true],
      [2, 3, true],
      [3, 2, false],
    ] as const) {
      const r = await get(`/subscriptions?_page=${page}&_limit=3`);
      ok(r, ['code', 'data', 'meta']);
      assert.deepEqual(r.body.meta, { page, limit: 3, count: 8, hasnext });
      assert.equal(r.body.data.length, n);
      r.body.data.forEach(assertRow);
      seen.push(...r.body.data);
    }
    assert.deepEqual(seen.map(key), expected.map(key));
    const all = await get('/subscriptions');
    assert.deepEqual(all.body.meta, { page: 1, limit: 10000, count: 8, hasnext: false });
    assert.deepEqual(all.body.data.map(key), expected.map(key));
  });

  it('filters: clientid, topic, qos, share, _match_topic; count -1', async () => {
    const where = (f: (r: Row) => boolean): string[] => expected.filter(f).map(key);
    const cases: [string, string[]][] = [
      [`clientid=${ids.c}`, where((r) => r.clientid === ids.c)],
      ['topic=sub/a', where((r) => r.topic === 'sub/a')],
      // the topic without its share prefix, as EMQX compares it
      ['topic=sub/s', where((r) => r.topic === '$share/g1/sub/s')],
      ['qos=0', where((r) => r.qos === 0)],
      ['qos=1', where((r) => r.qos === 1)],
      ['qos=2', where((r) => r.qos === 2)],
      ['share=g1', where((r) => r.topic === '$share/g1/sub/s')],
      ['share=nogroup', []],
      ['_match_topic=sub/%2B/c', where((r) => r.topic === 'sub/+/c' || r.topic === 'sub/b/c')],
      ['_match_topic=other/%23', where((r) => r.topic === 'other/x')],
      [`clientid=${ids.a}&qos=1`, where((r) => r.clientid === ids.a && r.qos === 1)],
      ['unknown=1&topic=nothing', []],
    ];
    for (const [qs, want] of cases) {
      const r = await get(`/subscriptions?${qs}`);
      ok(r, ['code', 'data', 'meta']);
      assert.equal(r.body.meta.count, -1, qs);
      assert.equal(r.body.meta.hasnext, false, qs);
      assert.deepEqual(r.body.data.map(key), want, qs);
    }
    // a filtered query pages across nodes too
    const p1 = await get('/subscriptions?qos=1&_limit=3');
    assert.deepEqual(p1.body.meta, { page: 1, limit: 3, count: -1, hasnext: true });
    const p2 = await get('/subscriptions?qos=1&_limit=3&_page=2');
    assert.deepEqual(p2.body.meta, { page: 2, limit: 3, count: -1, hasnext: false });
    assert.deepEqual([...p1.body.data, ...p2.body.data].map(key), where((r) => r.qos === 1));
  });

  it('bad parameters: 400 with 108, or 116 for an integer that is no QoS', async () => {
    for (const qs of ['_page=0', '_page=a', '_limit=0', '_limit=2.5', 'qos=x', 'qos=1.0', 'qos=', 'qos=1&qos=2']) {
      fails(await get(`/subscriptions?${qs}`), 400, 108);
      fails(await get(`/nodes/${fullName('n1')}/subscriptions?${qs}`), 400, 108);
    }
    for (const qs of ['qos=3', 'qos=-1']) fails(await get(`/subscriptions?${qs}`), 400, 116);
  });
});

describe('GET /nodes/{node}/subscriptions', () => {
  it('pages one node only (node name encoded or not) and applies the filters', async () => {
    const onN2 = expected.filter((r) => r.node === fullName('n2')).map(key);
    for (const node of [fullName('n2'), enc(fullName('n2'))]) {
      const p1 = await get(`/nodes/${node}/subscriptions?_limit=2`);
      ok(p1, ['code', 'data', 'meta']);
      assert.deepEqual(p1.body.meta, { page: 1, limit: 2, count: 3, hasnext: true });
      const p2 = await get(`/nodes/${node}/subscriptions?_limit=2&_page=2`);
      assert.deepEqual(p2.body.meta, { page: 2, limit: 2, count: 3, hasnext: false });
      [...p1.body.data, ...p2.body.data].forEach(assertRow);
      assert.deepEqual([...p1.body.data, ...p2.body.data].map(key), onN2);
    }
    const f = await get(`/nodes/${fullName('n1')}/subscriptions?topic=sub/a`);
    assert.deepEqual(f.body.meta, { page: 1, limit: 10000, count: -1, hasnext: false });
    assert.deepEqual(f.body.data.map(key), [key(expected[0]!)]);
  });

  it('404 for an unknown node', async () => {
    fails(await get('/nodes/nope@127.0.0.1/subscriptions'), 404, 404);
    fails(await get(`/nodes/nope@127.0.0.1/subscriptions/${ids.a}`), 404, 404);
  });
});

describe('GET /subscriptions/{clientid}', () => {
  it("lists a client's subscriptions wherever it is; [] for an unknown client", async () => {
    for (const name of ['a', 'c', 'd']) {
      const r = await get(`/subscriptions/${enc(ids[name]!)}`);
      ok(r);
      r.body.data.forEach(assertRow);
      assert.deepEqual(
        r.body.data.map(key),
        expected.filter((e) => e.clientid === ids[name]).map(key),
      );
    }
    assert.deepEqual((await get(`/subscriptions/${uid('nobody')}`)).body, { code: 0, data: [] });
  });

  it('node-scoped: the rows on that node, [] on another', async () => {
    const r = await get(`/nodes/${enc(fullName('n2'))}/subscriptions/${enc(ids.c!)}`);
    ok(r);
    r.body.data.forEach(assertRow);
    assert.deepEqual(
      r.body.data.map(key),
      expected.filter((e) => e.clientid === ids.c).map(key),
    );
    assert.deepEqual((await get(`/nodes/${fullName('n1')}/subscriptions/${enc(ids.c!)}`)).body, { code: 0, data: [] });
  });

  it('follows unsubscribe and disconnect', async () => {
    await clients.d!.unsubscribe('other/x');
    assert.deepEqual(
      (await get(`/subscriptions/${ids.d}`)).body.data.map((r: Row) => r.topic),
      ['sub/#'],
    );
    await clients.b!.end();
    await eventually(async () => assert.deepEqual((await get(`/subscriptions/${ids.b}`)).body.data, []));
    assert.equal((await get('/subscriptions')).body.meta.count, 6);
  });
});

describe('errors', () => {
  it('401 without or with wrong credentials', async () => {
    for (const [auth, code] of BAD_CREDENTIALS) unauthorized(await get('/subscriptions', auth), code);
  });

  it('404 with a JSON body for an unknown path', async () => {
    fails(await get('/subscriptions/a/b'), 404, 404);
  });
});
