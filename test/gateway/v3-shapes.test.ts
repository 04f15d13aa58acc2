// The v3 REST API (/api/v3, EMQX 3.x's) through a real gateway process over a real
// three-node cluster with real MQTT clients: every endpoint of the spec's list that is
// served here answers in the shape of the spec's example (same keys, same JSON types),
// GET /api/v3/ lists them as the spec does, and the second port serves the same API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fullName, startCluster, type TestCluster } from '../support/cluster.js';
import { api, BAD_CREDENTIALS, ok, startGateway, unauthorized, type ApiAnswer, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';
import { assertShape, v3Examples } from '../support/v3-spec.js';

let c: TestCluster;
let gw: GatewayProcess;
const examples = v3Examples();
const N1 = fullName('n1');
const enc = encodeURIComponent;
const v3 = (method: string, path: string, body?: unknown, auth?: string | null): Promise<ApiAnswer> => api(gw.url, method, `/api/v3${path}`, { body, auth });

/** The paths of the spec's list that another part of the API serves (apps, users, configs, ACL cache). */
/** users, apps and configs have no examples in the spec: their shapes are tested in v3-users.test.ts */
const ELSEWHERE = /^\/(apps|auth|change_pwd|users|configs)|^\/nodes\/:node\/(configs|plugin_configs)|^\/connections\/:clientid\/acl/;

let a: TestClient;
let offlineId: string;

before(async () => {
  c = await startCluster(['n1', 'n2', 'n3']);
  gw = await startGateway(c, { STARLING_API_V3_PORT: '0' });
  a = await connectClient(tcpUrl(c.node('n1').mqttPort), { clientId: uid('v3-a'), username: 'user-a', will: { topic: 'will/a', payload: Buffer.from('bye'), qos: 0, retain: false } });
  await a.subscribe('v3/a', { qos: 1 });
  await connectClient(tcpUrl(c.node('n2').mqttPort), { clientId: uid('v3-b'), clean: false });
  offlineId = uid('v3-offline');
  const off = await connectClient(tcpUrl(c.node('n3').mqttPort), { clientId: offlineId, clean: false });
  await off.subscribe('v3/offline', { qos: 1 });
  await off.end();
});

after(async () => {
  await closeAllClients();
  await gw?.stop();
  await c?.stop();
});

describe('GET /api/v3/', () => {
  it("lists every endpoint of the spec's list served here, with the spec's name, method, path and descr, in v3's key order", async () => {
    const r = await v3('GET', '/');
    ok(r);
    const listed = r.body.data as Record<string, string>[];
    for (const e of listed) assert.deepEqual(Object.keys(e), ['name', 'method', 'path', 'descr']);
    const key = (e: Record<string, string>): string => `${e.method} ${e.path}`;
    const ours = new Map(listed.map((e) => [key(e), e]));
    const spec = (examples.get('GET /') as { data: Record<string, string>[] }).data.map((e) => ({ ...e, path: e.path!.startsWith('/') ? e.path : `/${e.path}` }));
    assert.equal(spec.length, 55, "the spec's list has 55 endpoints");
    for (const e of spec) assert.deepEqual(ours.get(key(e)), e, key(e));
    assert.equal(listed.length, spec.length, 'nothing listed beyond the spec');
  });

  it('refuses bad credentials as v4 does (401, 103/104)', async () => {
    for (const [auth, code] of BAD_CREDENTIALS) unauthorized(await v3('GET', '/brokers/', undefined, auth), code);
  });
});

/** A concrete path for a spec path: the node n1, client `a` (on n1), its topic, a plugin. */
function concrete(path: string): string {
  return path
    .replace(':node', enc(N1))
    .replace(':clientid', enc(a.clientId))
    .replace(':topic', enc('v3/a'))
    .replace(':plugin', 'emqx_retainer');
}

describe("every GET answers in the shape of the spec's example", () => {
  const gets = [...examples.keys()].filter((k) => k.startsWith('GET /') && k !== 'GET /' && !ELSEWHERE.test(k.slice(4)));
  it('covers the spec’s GET examples', () => assert.ok(gets.length >= 28, String(gets.length)));
  for (const k of gets) {
    it(k, async () => {
      const r = await v3('GET', concrete(k.slice(4)));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.code, 0, JSON.stringify(r.body));
      assertShape(r.body, examples.get(k));
      // a lookup of a client found finds it (an empty list would pass any shape)
      if (k.includes(':clientid')) assert.equal(r.body.data.length, 1, JSON.stringify(r.body));
    });
  }

  it('GET /routes/ (the spec shows the nodes example there): {topic, node} rows and v3 meta', async () => {
    const r = await v3('GET', '/routes/');
    ok(r, ['code', 'data', 'meta']);
    assert.deepEqual(Object.keys(r.body.meta).sort(), ['count', 'limit', 'page']);
    assert.ok(r.body.data.some((x: { topic: string; node: string }) => x.topic === 'v3/a' && x.node === N1));
    for (const row of r.body.data) assert.deepEqual(Object.keys(row).sort(), ['node', 'topic']);
  });

  it('a session without a connection is a session, not a connection', async () => {
    const s = await v3('GET', `/sessions/${enc(offlineId)}`);
    assertShape(s.body, examples.get('GET /sessions/:clientid'));
    assert.equal(s.body.data.length, 1);
    assert.equal(s.body.data[0].clean_start, false);
    ok(await v3('GET', `/connections/${enc(offlineId)}`));
    assert.deepEqual((await v3('GET', `/connections/${enc(offlineId)}`)).body.data, []);
  });
});

describe('the writes answer as the spec shows', () => {
  it('POST /mqtt/publish, /mqtt/subscribe, /mqtt/unsubscribe with client_id: {"code":0}', async () => {
    for (const [path, body] of [
      ['/mqtt/publish', { topic: 'v3/a', payload: 'hello', qos: 1, retain: false, client_id: a.clientId }],
      ['/mqtt/subscribe', { topic: 'v3/shape', qos: 1, client_id: a.clientId }],
      ['/mqtt/unsubscribe', { topic: 'v3/shape', payload: 'hello', qos: 1, retain: false, client_id: a.clientId }],
    ] as const) {
      const r = await v3('POST', path, body);
      assert.deepEqual(r.body, examples.get(`POST ${path}`).code === 0 ? examples.get(`POST ${path}`) : { code: 0 }, path);
    }
  });

  it('POST /mqtt/subscribe for a client not online: the spec’s {"code":112,"message":"session_not_found"}', async () => {
    const r = await v3('POST', '/mqtt/subscribe', { topic: 'test_topic', qos: 1, client_id: 'mqttjs_ab9069449e' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, examples.get('POST /mqtt/subscribe'));
    assert.deepEqual((await v3('POST', '/mqtt/unsubscribe', { topic: 'test_topic', client_id: 'mqttjs_ab9069449e' })).body, examples.get('POST /mqtt/unsubscribe'));
  });

  it('PUT load of a loaded plugin: the error section’s {"code":102,"message":"already_started"}; unload/load {"code":0}', async () => {
    const n2 = enc(fullName('n2'));
    const r = await v3('PUT', `/nodes/${enc(N1)}/plugins/emqx_retainer/load`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { code: 102, message: 'already_started' });
    assert.deepEqual((await v3('PUT', `/nodes/${n2}/plugins/emqx_delayed_publish/unload`)).body, examples.get('PUT /nodes/:node/plugins/:plugin/unload'));
    assert.deepEqual((await v3('PUT', `/nodes/${n2}/plugins/emqx_delayed_publish/unload`)).body, { code: 102, message: 'not_started' });
    assert.deepEqual((await v3('PUT', `/nodes/${n2}/plugins/emqx_delayed_publish/load`)).body, examples.get('PUT /nodes/:node/plugins/:plugin/load'));
  });

  it('POST /banned/ answers the request body; DELETE /banned/{who}?as= {"code":0}', async () => {
    const body = { who: uid('v3-ban'), as: 'client_id', reason: 'banned the clientId', desc: 'normal banned', until: Math.floor(Date.now() / 1000) + 600 };
    const r = await v3('POST', '/banned/', body);
    assertShape(r.body, examples.get('POST /banned/'));
    assert.deepEqual(r.body, { code: 0, data: body });
    const listed = (await v3('GET', '/banned/')).body;
    assertShape(listed, examples.get('GET /banned/'));
    const row = listed.data.find((x: { who: string }) => x.who === body.who);
    assert.deepEqual(row, { who: body.who, as: 'client_id', reason: body.reason, by: 'user', desc: body.desc, until: body.until });
    assert.deepEqual((await v3('DELETE', `/banned/${enc(body.who)}?as=client_id`)).body, examples.get('DELETE /banned/:who'));
  });

  it('DELETE /connections/{clientid}: {"code":0}, the client is gone', async () => {
    const k = await connectClient(tcpUrl(c.node('n3').mqttPort), { clientId: uid('v3-kick') });
    assert.deepEqual((await v3('DELETE', `/connections/${enc(k.clientId)}`)).body, examples.get('DELETE /connections/:clientid'));
    await k.waitClose();
    assert.deepEqual((await v3('GET', `/connections/${enc(k.clientId)}`)).body.data, []);
  });
});

describe('the second port (STARLING_API_V3_PORT), as EMQX 3.x’s 8080', () => {
  it('serves the same API, behind the same auth', async () => {
    assert.ok(gw.v3Port !== undefined && gw.v3Port !== gw.port, `v3Port ${gw.v3Port}`);
    const base = `http://127.0.0.1:${gw.v3Port}`;
    const r = await api(base, 'GET', '/api/v3/brokers/');
    ok(r);
    assert.deepEqual(
      r.body.data.map((b: { node: string }) => b.node),
      ['n1', 'n2', 'n3'].map(fullName),
    );
    ok(await api(base, 'GET', '/api/v4/brokers'));
    unauthorized(await api(base, 'GET', '/api/v3/brokers/', { auth: 'admin:wrong' }), 103);
  });
});
