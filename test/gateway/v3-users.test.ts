// /api/v3 apps, dashboard users, configs, plugin_configs and the per-topic ACL cache clean,
// through a real gateway process over a real three-node cluster: shapes as EMQX 3 answers
// them, result codes, and the effects (a config changed on one node changes that node's
// behaviour only; a web hook URL set through plugin_configs is where events go).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, fullName, startCluster, type TestCluster } from '../support/cluster.js';
import { api, fails, ok, startGateway, type ApiAnswer, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, tcpUrl, uid, type Scope, type TestClient } from '../support/mqtt-clients.js';

// no rule for other publishes: aclNoMatch decides them
const ACL = `{deny, all, publish, ["acl/denied"]}.
{allow, all, subscribe, ["#"]}.
`;

let dir: string | undefined;
let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'starling-gw-v3users-'));
  const acl = join(dir, 'acl.conf');
  writeFileSync(acl, ACL);
  c = await startCluster(['n1', 'n2', 'n3'], { STARLING_ACL_FILE: acl });
  gw = await startGateway(c);
});

after(async () => {
  await closeAllClients();
  await gw?.stop();
  await c?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const v3 = (method: string, path: string, body?: unknown): Promise<ApiAnswer> => api(gw!.url, method, `/api/v3${path}`, body === undefined ? {} : { body });
const v4 = (method: string, path: string, body?: unknown): Promise<ApiAnswer> => api(gw!.url, method, `/api/v4${path}`, body === undefined ? {} : { body });
const N = ['n1', 'n2', 'n3'].map(fullName);
const client = (short: string, opts: Parameters<typeof connectClient>[1], t: Scope): Promise<TestClient> => connectClient(tcpUrl(c!.node(short).mqttPort), opts, t);

describe('GET /api/v3/', () => {
  it('lists these endpoints in v3 shape', async () => {
    const r = await v3('GET', '/');
    ok(r);
    const names = new Set(r.body.data.map((e: { name: string }) => e.name));
    for (const n of ['list_apps', 'add_app', 'lookup_app', 'update_app', 'del_app', 'list_users', 'create_user', 'update_user', 'delete_user', 'change_pwd', 'auth_user', 'get_all_configs', 'update_config', 'update_node_config', 'get_plugin_configs', 'update_plugin_configs', 'clean_acl_cache']) {
      assert.ok(names.has(n), n);
    }
    for (const e of r.body.data) assert.deepEqual(Object.keys(e).sort(), ['descr', 'method', 'name', 'path']);
  });
});

describe('v3 apps', () => {
  it('are the v4 apps: created through v3, seen and deleted through v4', async () => {
    const created = await v3('POST', '/apps/', { app_id: 'v3app', name: 'V3', desc: 'old tooling' });
    ok(created);
    assert.deepEqual(Object.keys(created.body.data), ['secret']);
    const row = { app_id: 'v3app', name: 'V3', desc: 'old tooling', status: true, expired: 'undefined' };
    assert.deepEqual((await v3('GET', '/apps/v3app')).body, { code: 0, data: row });
    const four = await v4('GET', '/apps');
    assert.ok(four.body.data.some((a: { app_id: string }) => a.app_id === 'v3app'));
    assert.deepEqual((await v3('GET', '/apps/')).body, four.body);
    ok(await v3('PUT', '/apps/v3app', { desc: 'renamed' }), ['code']);
    assert.equal((await v4('GET', '/apps/v3app')).body.data.desc, 'renamed');
    ok(await v4('DELETE', '/apps/v3app'), ['code']);
    assert.deepEqual((await v3('GET', '/apps/v3app')).body, { code: 0, data: {} });
    fails(await v3('DELETE', '/apps/v3app'), 200, 105);
    fails(await v3('DELETE', '/apps/admin'), 200, 106);
  });
});

describe('v3 users', () => {
  it('has the default admin user', async () => {
    assert.deepEqual((await v3('GET', '/users/')).body, { code: 0, data: [{ username: 'admin', tags: 'administrator' }] });
    ok(await v3('POST', '/auth', { username: 'admin', password: 'public' }), ['code']);
  });

  it('creates, lists, updates, authenticates, changes the password of and deletes a user', async () => {
    ok(await v3('POST', '/users/', { username: 'ops', password: 's3cret', tags: 'viewer' }), ['code']);
    fails(await v3('POST', '/users/', { username: 'ops', password: 'other' }), 200, 113);
    fails(await v3('POST', '/users/', { username: 'nopw' }), 200, 104);
    fails(await v3('POST', '/users/', { username: 'typed', password: 5 }), 400, 108);
    assert.deepEqual((await v3('GET', '/users/')).body.data, [
      { username: 'admin', tags: 'administrator' },
      { username: 'ops', tags: 'viewer' },
    ]);
    // kept hashed, never in clear
    const stored = (await c!.store.configList('users')).find((u) => u.username === 'ops')!;
    assert.match(stored.passwordHash, /^sha256:[0-9a-f]+:[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(stored).includes('s3cret'));

    ok(await v3('POST', '/auth', { username: 'ops', password: 's3cret' }), ['code']);
    fails(await v3('POST', '/auth', { username: 'ops', password: 'wrong' }), 200, 103);
    fails(await v3('POST', '/auth', { username: 'nobody', password: 's3cret' }), 200, 103);
    fails(await v3('POST', '/auth', { username: 'ops' }), 200, 104);

    ok(await v3('PUT', '/users/ops', { tags: 'operator' }), ['code']);
    assert.deepEqual((await v3('GET', '/users/')).body.data[1], { username: 'ops', tags: 'operator' });
    fails(await v3('PUT', '/users/nobody', { tags: 'x' }), 200, 105);

    fails(await v3('PUT', '/change_pwd/ops', { old_pwd: 'wrong', new_pwd: 'n3w' }), 200, 114);
    fails(await v3('PUT', '/change_pwd/nobody', { old_pwd: 'a', new_pwd: 'b' }), 200, 105);
    fails(await v3('PUT', '/change_pwd/ops', { old_pwd: 's3cret' }), 200, 104);
    ok(await v3('PUT', '/change_pwd/ops', { old_pwd: 's3cret', new_pwd: 'n3w' }), ['code']);
    fails(await v3('POST', '/auth', { username: 'ops', password: 's3cret' }), 200, 103);
    ok(await v3('POST', '/auth', { username: 'ops', password: 'n3w' }), ['code']);
    assert.equal((await v3('GET', '/users/')).body.data[1].tags, 'operator', 'tags survive a password change');

    fails(await v3('DELETE', '/users/admin'), 200, 106);
    ok(await v3('DELETE', '/users/ops'), ['code']);
    fails(await v3('DELETE', '/users/ops'), 200, 105);
    fails(await v3('POST', '/auth', { username: 'ops', password: 'n3w' }), 200, 103);
    assert.deepEqual((await v3('GET', '/users/')).body.data, [{ username: 'admin', tags: 'administrator' }]);
  });
});

const ROW_KEYS = ['app', 'datatpye', 'key', 'runtime', 'value'];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const row = (rows: { key: string }[], key: string): any => rows.find((r) => r.key === key);
const nodeConfig = async (node: string, key: string): Promise<string> => row((await v3('GET', `/nodes/${node}/configs/`)).body.data, key)!.value;

describe('v3 configs', () => {
  it('GET /configs/ lists every node\'s options; /nodes/{node}/configs/ one node\'s', async () => {
    const all = await v3('GET', '/configs/');
    ok(all);
    assert.deepEqual(all.body.data.map((n: { node: string }) => n.node), N);
    for (const n of all.body.data) {
      assert.deepEqual(Object.keys(n).sort(), ['config', 'node']);
      for (const r of n.config) assert.deepEqual(Object.keys(r).sort(), ROW_KEYS);
    }
    const one = await v3('GET', `/nodes/${N[0]}/configs/`);
    ok(one);
    assert.deepEqual(row(one.body.data, 'allowAnonymous'), { key: 'allowAnonymous', value: 'true', datatpye: 'flag', app: 'emqx', runtime: true });
    assert.deepEqual({ ...row(one.body.data, 'mqttPort'), value: undefined }, { key: 'mqttPort', value: undefined, datatpye: 'integer', app: 'emqx', runtime: false });
    assert.deepEqual(row(one.body.data, 'keepaliveBackoff'), { key: 'keepaliveBackoff', value: '1.5', datatpye: 'float', app: 'emqx', runtime: true });
    assert.equal(row(one.body.data, 'nodeName')!.value, N[0]);
    assert.equal(row(one.body.data, 'webHookUrl')!.app, 'emqx_web_hook');
    fails(await v3('GET', '/nodes/nobody@127.0.0.1/configs/'), 404, 404);
  });

  it('allowAnonymous false on one node refuses anonymous clients there only', async (t) => {
    await client('n2', { clientId: uid('anon-before') }, t);
    ok(await v3('PUT', `/nodes/${N[1]}/configs/emqx`, { key: 'allowAnonymous', value: 'false' }), ['code']);
    t.after(() => v3('PUT', `/nodes/${N[1]}/configs/emqx`, { key: 'allowAnonymous', value: true }));
    assert.equal(await nodeConfig(N[1]!, 'allowAnonymous'), 'false');
    assert.equal(await nodeConfig(N[0]!, 'allowAnonymous'), 'true');
    await assert.rejects(client('n2', { clientId: uid('anon') }, t), /Not authorized/);
    await client('n1', { clientId: uid('anon') }, t);
    await client('n3', { clientId: uid('anon') }, t);
    ok(await v3('PUT', `/nodes/${N[1]}/configs/emqx`, { key: 'allowAnonymous', value: true }), ['code']);
    await client('n2', { clientId: uid('anon-again') }, t);
  });

  it('aclNoMatch deny on one node denies what no rule matches there only', async (t) => {
    const topic = uid('acl/other');
    const cached = async (cl: TestClient) => ((await v4('GET', `/clients/${cl.clientId}/acl_cache`)).body.data as { topic: string; result: string }[]).find((r) => r.topic === topic)?.result;
    const on3 = await client('n3', { clientId: uid('nomatch3') }, t);
    const on1 = await client('n1', { clientId: uid('nomatch1') }, t);
    await on3.publish(topic, 'x', { qos: 1 });
    assert.equal(await cached(on3), 'allow');
    ok(await v3('PUT', `/nodes/${N[2]}/configs/emqx_mod_acl_internal`, { key: 'aclNoMatch', value: 'deny' }), ['code']);
    t.after(() => v3('PUT', `/nodes/${N[2]}/configs/emqx_mod_acl_internal`, { key: 'aclNoMatch', value: 'allow' }));
    // the rules are built again and the caches cleared: the next publish is checked anew
    assert.equal(await cached(on3), undefined);
    await on3.publish(topic, 'x', { qos: 1 });
    await on1.publish(topic, 'x', { qos: 1 });
    assert.equal(await cached(on3), 'deny');
    assert.equal(await cached(on1), 'allow');
  });

  it('an alarm watermark changed on one node is in force there at once', async (t) => {
    const active = async (node: string): Promise<string[]> => ((await v4('GET', `/nodes/${node}/alarms/activated`)).body.data as { name: string }[]).map((a) => a.name);
    // 100%: memory can never be over it, whatever else runs on this machine
    ok(await v3('PUT', `/nodes/${N[0]}/configs/emqx`, { key: 'alarmSysmemHighWatermark', value: 100 }), ['code']);
    t.after(() => v3('PUT', `/nodes/${N[0]}/configs/emqx`, { key: 'alarmSysmemHighWatermark', value: 100 }));
    assert.ok(!(await active(N[0]!)).includes('high_system_memory_usage'));
    // 0%: over it at once (a change is checked against immediately)
    ok(await v3('PUT', `/nodes/${N[0]}/configs/emqx`, { key: 'alarmSysmemHighWatermark', value: 0 }), ['code']);
    assert.equal(await nodeConfig(N[0]!, 'alarmSysmemHighWatermark'), '0');
    await eventually(async () => assert.ok((await active(N[0]!)).includes('high_system_memory_usage')), 3000);
    assert.ok(!(await active(N[1]!)).includes('high_system_memory_usage'), 'that node only');
    ok(await v3('PUT', `/nodes/${N[0]}/configs/emqx`, { key: 'alarmSysmemHighWatermark', value: 100 }), ['code']);
    await eventually(async () => assert.ok(!(await active(N[0]!)).includes('high_system_memory_usage')), 3000);
  });

  it('refuses read-only keys, bad values, unknown keys and another app\'s keys, changing nothing', async () => {
    const before = await nodeConfig(N[0]!, 'mqttPort');
    const readOnly = await v3('PUT', `/nodes/${N[0]}/configs/emqx`, { key: 'mqttPort', value: '1999' });
    fails(readOnly, 200, 102);
    assert.match(readOnly.body.message, /mqttPort is read-only/);
    assert.equal(await nodeConfig(N[0]!, 'mqttPort'), before);
    fails(await v3('PUT', `/configs/emqx`, { key: 'allowAnonymous', value: 'maybe' }), 400, 108);
    fails(await v3('PUT', `/configs/emqx`, { key: 'maxInflight', value: 'many' }), 400, 108);
    fails(await v3('PUT', `/configs/emqx`, { key: 'noSuchKey', value: '1' }), 200, 102);
    fails(await v3('PUT', `/configs/emqx_web_hook`, { key: 'allowAnonymous', value: 'false' }), 200, 102);
    fails(await v3('PUT', `/configs/emqx`, { value: '1' }), 400, 107);
    // a low watermark above the high one is refused by the alarm monitors' own check
    fails(await v3('PUT', `/nodes/${N[0]}/configs/emqx`, { key: 'alarmCpuLowWatermark', value: 95 }), 400, 108);
    assert.equal(await nodeConfig(N[0]!, 'allowAnonymous'), 'true');
  });

  it('PUT /configs/{app} changes every node: new sessions get the new maxInflight', async (t) => {
    ok(await v3('PUT', '/configs/emqx', { key: 'maxInflight', value: 7 }), ['code']);
    t.after(() => v3('PUT', '/configs/emqx', { key: 'maxInflight', value: 32 }));
    for (const n of N) assert.equal(await nodeConfig(n, 'maxInflight'), '7');
    const cl = await client('n3', { clientId: uid('inflight') }, t);
    assert.equal((await v4('GET', `/clients/${cl.clientId}`)).body.data[0].max_inflight, 7);
  });
});

describe('v3 plugin_configs', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));
  /** An HTTP server recording the clientids of the web hook's events. */
  async function hookServer(): Promise<{ url: string; clientids: string[] }> {
    const clientids: string[] = [];
    const s = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        try {
          clientids.push((JSON.parse(body) as { clientid: string }).clientid);
        } catch {
          /* not JSON */
        }
        res.end('ok');
      });
    });
    servers.push(s);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`, clientids };
  }

  it('GET shows emqx_web_hook\'s settings; PUT sets them on that node, and a loaded plugin sends to the new URL', async (t) => {
    const r = await v3('GET', `/nodes/${N[0]}/plugin_configs/emqx_web_hook`);
    ok(r);
    for (const s of r.body.data) assert.deepEqual(Object.keys(s).sort(), ['desc', 'key', 'required', 'value']);
    assert.deepEqual(
      r.body.data.map((s: { key: string }) => s.key),
      ['webHookUrl', 'webHookHeaders', 'webHookEncoding', 'webHookRules', 'webHookPoolSize', 'webHookTimeoutMs', 'webHookMaxQueue'],
    );
    assert.deepEqual({ ...r.body.data[0], desc: typeof r.body.data[0].desc }, { key: 'webHookUrl', value: '', desc: 'string', required: true });
    // without a URL the plugin does not load
    fails(await v4('PUT', `/nodes/${N[0]}/plugins/emqx_web_hook/load`), 200, 102);

    const first = await hookServer();
    ok(await v3('PUT', `/nodes/${N[0]}/plugin_configs/emqx_web_hook`, { webHookUrl: first.url, webHookTimeoutMs: 2000 }), ['code']);
    const after1 = (await v3('GET', `/nodes/${N[0]}/plugin_configs/emqx_web_hook`)).body.data;
    assert.equal(row(after1, 'webHookUrl')!.value, first.url);
    assert.equal(row(after1, 'webHookTimeoutMs')!.value, '2000');
    assert.equal(row((await v3('GET', `/nodes/${N[1]}/plugin_configs/emqx_web_hook`)).body.data, 'webHookUrl')!.value, '', 'that node only');

    ok(await v4('PUT', `/nodes/${N[0]}/plugins/emqx_web_hook/load`), ['code']);
    t.after(() => v4('PUT', `/nodes/${N[0]}/plugins/emqx_web_hook/unload`));
    const a = await client('n1', { clientId: uid('hook-a') }, t);
    await eventually(() => assert.ok(first.clientids.includes(a.clientId)), 3000);

    // a loaded plugin is reloaded with its new settings
    const second = await hookServer();
    ok(await v3('PUT', `/nodes/${N[0]}/plugin_configs/emqx_web_hook`, { webHookUrl: second.url }), ['code']);
    const b = await client('n1', { clientId: uid('hook-b') }, t);
    await eventually(() => assert.ok(second.clientids.includes(b.clientId)), 3000);
    assert.ok(!first.clientids.includes(b.clientId));

    // a bad URL for the loaded plugin is refused, the plugin keeps sending to the last one
    fails(await v3('PUT', `/nodes/${N[0]}/plugin_configs/emqx_web_hook`, { webHookUrl: 'ftp://x' }), 400, 108);
    fails(await v3('PUT', `/nodes/${N[0]}/plugin_configs/emqx_web_hook`, { allowAnonymous: false }), 200, 102);
    // all or none: a good value beside a bad one is not set either
    fails(await v3('PUT', `/nodes/${N[0]}/plugin_configs/emqx_web_hook`, { webHookTimeoutMs: 1234, webHookPoolSize: 0 }), 400, 108);
    assert.equal(row((await v3('GET', `/nodes/${N[0]}/plugin_configs/emqx_web_hook`)).body.data, 'webHookTimeoutMs')!.value, '2000');
    assert.equal(row((await v3('GET', `/nodes/${N[0]}/plugin_configs/emqx_web_hook`)).body.data, 'webHookUrl')!.value, second.url);
  });

  it('an unknown plugin is 404; a plugin without settings has none', async () => {
    fails(await v3('GET', `/nodes/${N[0]}/plugin_configs/emqx_nothing`), 404, 404);
    fails(await v3('PUT', `/nodes/${N[0]}/plugin_configs/emqx_nothing`, { a: '1' }), 404, 404);
    assert.deepEqual((await v3('GET', `/nodes/${N[0]}/plugin_configs/emqx_delayed_publish`)).body, { code: 0, data: [] });
  });
});

describe('DELETE /api/v3/connections/{clientid}/acl/{topic}', () => {
  it("forgets that topic's cached ACL results of the client", async (t) => {
    const cl = await client('n2', { clientId: uid('aclv3') }, t);
    await cl.publish('acl/denied', 'x', { qos: 0 });
    await cl.publish('acl/ok', 'x', { qos: 1 });
    const cache = async () => ((await v4('GET', `/clients/${cl.clientId}/acl_cache`)).body.data as { topic: string }[]).map((r) => r.topic);
    assert.deepEqual(await cache(), ['acl/denied', 'acl/ok']);
    ok(await v3('DELETE', `/connections/${cl.clientId}/acl/${encodeURIComponent('acl/ok')}`), ['code']);
    assert.deepEqual(await cache(), ['acl/denied']);
    fails(await v3('DELETE', `/connections/${uid('nobody')}/acl/a`), 200, 112);
  });
});
