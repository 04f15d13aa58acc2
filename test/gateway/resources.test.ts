// Resource types and resources (GET /api/v4/resource_types[/{name}], GET/POST/DELETE
// /api/v4/resources[/{id}]) through a real gateway over a real three-node cluster: the
// web_hook type's schema, a resource pointing at an HTTP server this test runs is alive on
// every node (each node's own TCP check), dead once the server stops; configs checked
// against the schema (108), unknown ids 404, and a resource a rule uses is not deleted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, fullName, startCluster, type TestCluster } from '../support/cluster.js';
import { api, fails, ok, startGateway, type ApiAnswer, type GatewayProcess } from '../support/gateway.js';
import { startHttpSink, type HttpSink } from '../support/http-sink.js';

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
let sink: HttpSink | undefined;

before(async () => {
  [c, sink] = await Promise.all([startCluster(['n1', 'n2', 'n3']), startHttpSink()]);
  gw = await startGateway(c);
});

after(async () => {
  await sink?.close();
  await gw?.stop();
  await c?.stop();
});

const NODES = ['n1', 'n2', 'n3'].map(fullName);
const call = (method: string, path: string, body?: unknown): Promise<ApiAnswer> => api(gw!.url, method, `/api/v4${path}`, { body });
const enc = encodeURIComponent;

describe('resource types', () => {
  it('lists web_hook with its params schema, as EMQX declares it', async () => {
    const r = await call('GET', '/resource_types');
    ok(r);
    const t = r.body.data.find((x: { name: string }) => x.name === 'web_hook');
    assert.ok(t, JSON.stringify(r.body.data));
    assert.deepEqual(Object.keys(t).sort(), ['description', 'name', 'params', 'provider', 'title']);
    assert.equal(t.provider, 'emqx_web_hook');
    assert.deepEqual(t.title, { en: 'WebHook', zh: 'WebHook' });
    for (const p of ['url', 'headers', 'method', 'content_type', 'connect_timeout', 'request_timeout', 'pool_size']) assert.ok(t.params[p], p);
    assert.equal(t.params.url.required, true);
    assert.equal(t.params.url.type, 'string');
    assert.deepEqual(t.params.method.enum, ['PUT', 'POST']);
    assert.equal(t.params.pool_size.type, 'number');
    assert.deepEqual(Object.keys(t.params.url.title).sort(), ['en', 'zh']);
  });

  it('GET /resource_types/web_hook answers the one; an unknown name is 404', async () => {
    const r = await call('GET', '/resource_types/web_hook');
    ok(r);
    assert.equal(r.body.data.name, 'web_hook');
    fails(await call('GET', '/resource_types/nope'), 404, 404);
  });
});

describe('resources', () => {
  let id = '';

  it('POST creates one from a type, defaults filled, answered as the spec shows', async () => {
    const r = await call('POST', '/resources', { type: 'web_hook', config: { url: sink!.url, headers: { token: 'axfw' }, method: 'POST' }, description: 'web hook resource-1' });
    ok(r);
    assert.deepEqual(Object.keys(r.body.data).sort(), ['config', 'description', 'id', 'type']);
    assert.match(r.body.data.id, /^resource:[0-9a-f]{8}$/);
    assert.equal(r.body.data.type, 'web_hook');
    assert.equal(r.body.data.description, 'web hook resource-1');
    assert.equal(r.body.data.config.url, sink!.url);
    assert.deepEqual(r.body.data.config.headers, { token: 'axfw' });
    assert.equal(r.body.data.config.pool_size, 8);
    assert.equal(r.body.data.config.request_timeout, '5s');
    id = r.body.data.id;
  });

  it('is alive on every node: each node checks the URL itself', async () => {
    await eventually(async () => {
      const r = await call('GET', `/resources/${enc(id)}`);
      ok(r);
      assert.deepEqual(Object.keys(r.body.data).sort(), ['config', 'description', 'id', 'status', 'type']);
      assert.deepEqual(r.body.data.status, NODES.map((node) => ({ node, is_alive: true })));
    });
    const list = await call('GET', '/resources');
    ok(list);
    const mine = list.body.data.find((x: { id: string }) => x.id === id);
    assert.equal(mine.type, 'web_hook');
    assert.deepEqual(mine.status, NODES.map((node) => ({ node, is_alive: true })));
  });

  it('a config that is not of the schema is refused with 108 naming the fault, nothing stored', async () => {
    const before = (await call('GET', '/resources')).body.data.length;
    const cases: [unknown, RegExp][] = [
      [{}, /config\.url: required/],
      [{ url: 42 }, /config\.url: must be a string/],
      [{ url: 'not a url' }, /config\.url/],
      [{ url: 'ftp://x' }, /http or https/],
      [{ url: sink!.url, method: 'PATCH' }, /config\.method/],
      [{ url: sink!.url, pool_size: 'eight' }, /config\.pool_size: must be a number/],
      [{ url: sink!.url, pool_size: 0 }, /config\.pool_size/],
      [{ url: sink!.url, request_timeout: 'soon' }, /config\.request_timeout/],
      [{ url: sink!.url, headers: { a: 1 } }, /config\.headers\.a/],
      [{ url: sink!.url, colour: 'red' }, /config\.colour: unknown parameter/],
    ];
    for (const [config, why] of cases) {
      const r = await call('POST', '/resources', { type: 'web_hook', config });
      fails(r, 400, 108);
      assert.match(r.body.message, why, JSON.stringify(config));
    }
    fails(await call('POST', '/resources', { type: 'nope', config: { url: sink!.url } }), 400, 108);
    fails(await call('POST', '/resources', { config: { url: sink!.url } }), 400, 107);
    assert.equal((await call('GET', '/resources')).body.data.length, before);
  });

  it('an unknown id is 404', async () => {
    fails(await call('GET', '/resources/resource:nope'), 404, 404);
    fails(await call('DELETE', '/resources/resource:nope'), 404, 404);
  });

  it('a resource a rule uses is not deleted (both kept); once the rule goes it is', async () => {
    const rule = { id: 'rule:uses', rawsql: 'SELECT * FROM "t/#"', actions: [{ id: 'data_to_webserver_1', name: 'data_to_webserver', params: { $resource: id } }], enabled: true, description: '', for: ['t/#'], created_at: Date.now() };
    assert.equal(await c!.store.configPut('rules', rule, 'upsert'), true);
    const r = await call('DELETE', `/resources/${enc(id)}`);
    fails(r, 400, 102);
    assert.match(r.body.message, /rule:uses/);
    ok(await call('GET', `/resources/${enc(id)}`));
    assert.ok((await c!.store.configList('rules')).some((x) => x.id === 'rule:uses'));
    await c!.store.configDelete('rules', 'rule:uses');
  });

  it('the server stopped: not alive on any node', async () => {
    await sink!.close();
    await eventually(async () => {
      const r = await call('GET', `/resources/${enc(id)}`);
      assert.deepEqual(r.body.data.status, NODES.map((node) => ({ node, is_alive: false })));
    });
    // and back: alive again
    sink = await startHttpSink(sink!.port);
    await eventually(async () => {
      const r = await call('GET', `/resources/${enc(id)}`);
      assert.deepEqual(r.body.data.status, NODES.map((node) => ({ node, is_alive: true })));
    });
  });

  it('DELETE removes it everywhere: every node drops its instance', async () => {
    ok(await call('DELETE', `/resources/${enc(id)}`), ['code']);
    fails(await call('GET', `/resources/${enc(id)}`), 404, 404);
    await eventually(async () => {
      for (const n of NODES) assert.deepEqual(await c!.transport.request(n, 'resources.status', {}, 2000), [], n);
    });
  });
});
