// Data export/import (GET/POST /api/v4/data/export, POST /data/import, GET/POST/DELETE
// /data/file[/{filename}]) and telemetry (PUT/GET /telemetry/status, GET /telemetry/data)
// through two real gateways over a real three-node cluster: an export holds every config
// kind under EMQX's names; export → delete apps, bans, resources, rules → import restores
// them; a bad file changes nothing; file names that could name a path are refused; either
// gateway lists and serves the same files; the telemetry switch is cluster-wide and the data
// has the spec's fields, computed from the nodes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { api, fails, ok, startGateway, type ApiAnswer, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';
import { startHttpSink, type HttpSink } from '../support/http-sink.js';

let c: TestCluster | undefined;
let a: GatewayProcess | undefined;
let b: GatewayProcess | undefined;
/** a second gateway with the report URL: the two report once per interval between them */
let b2: GatewayProcess | undefined;
let sink: HttpSink | undefined;

before(async () => {
  [c, sink] = await Promise.all([startCluster(['n1', 'n2', 'n3']), startHttpSink()]);
  const reporting = { STARLING_TELEMETRY_URL: `${sink.url}/telemetry`, STARLING_TELEMETRY_INTERVAL_S: '1' };
  [a, b, b2] = await Promise.all([startGateway(c), startGateway(c, reporting), startGateway(c, reporting)]);
});

after(async () => {
  await closeAllClients();
  await Promise.allSettled([a?.stop(), b?.stop(), b2?.stop(), sink?.close()]);
  await c?.stop();
});

const on = (gw: GatewayProcess | undefined, method: string, path: string, body?: unknown): Promise<ApiAnswer> => api(gw!.url, method, `/api/v4${path}`, { body });
const enc = encodeURIComponent;

describe('data export and import', () => {
  let resourceId = '';
  let filename = '';
  const who = uid('banned-who');

  it('POST /data/export writes a file of every config kind, listed by both gateways', async () => {
    ok(await on(a, 'POST', '/apps', { app_id: 'exported', name: 'Exported', secret: 's3cret', desc: 'd', status: true }));
    ok(await on(a, 'POST', '/banned', { who, as: 'clientid', reason: 'r', until: Math.floor(Date.now() / 1000) + 3600 }));
    const res = await on(a, 'POST', '/resources', { type: 'web_hook', config: { url: sink!.url }, description: 'exported' });
    ok(res);
    resourceId = res.body.data.id;
    await c!.store.configPut('rules', { id: 'rule:exp', rawsql: 'SELECT * FROM "t/#"', actions: [{ id: 'data_to_webserver_1', name: 'data_to_webserver', params: { $resource: resourceId } }], enabled: true, description: '', for: ['t/#'], created_at: Date.now() }, 'upsert');

    const r = await on(a, 'POST', '/data/export');
    ok(r);
    assert.deepEqual(Object.keys(r.body.data).sort(), ['created_at', 'filename', 'size']);
    assert.match(r.body.data.filename, /^emqx-export-\d{4}-\d{1,2}-\d{1,2}-\d{1,2}-\d{1,2}-\d{1,2}(-\d+)?\.json$/);
    assert.match(r.body.data.created_at, /^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{1,2}:\d{1,2}$/);
    assert.equal(typeof r.body.data.size, 'number');
    filename = r.body.data.filename;
    for (const gw of [a, b]) {
      const list = await on(gw, 'GET', '/data/export');
      ok(list);
      assert.deepEqual(list.body.data.find((f: { filename: string }) => f.filename === filename), r.body.data);
    }
  });

  it('the file holds version, date and each kind under EMQX names; secrets only hashed; served by either gateway', async () => {
    const got = await on(b, 'GET', `/data/file/${enc(filename)}`);
    ok(got, ['code', 'file', 'filename']);
    assert.equal(got.body.filename, filename);
    const file = JSON.parse(got.body.file);
    for (const k of ['version', 'date', 'apps', 'blacklist', 'resources', 'rules', 'feature_states', 'topic_metrics']) assert.ok(k in file, k);
    assert.ok(!('telemetry' in file) && !('data_files' in file) && !('banned' in file));
    const app = file.apps.find((x: { id: string }) => x.id === 'exported');
    assert.deepEqual(Object.keys(app).sort(), ['desc', 'expired', 'id', 'name', 'secret_hash', 'status']);
    assert.ok(!got.body.file.includes('s3cret'));
    assert.ok(file.blacklist.some((x: { who: string; as: string }) => x.who === who && x.as === 'clientid'));
    assert.deepEqual(Object.keys(file.resources.find((x: { id: string }) => x.id === resourceId)).sort(), ['config', 'created_at', 'description', 'id', 'type']);
    assert.ok(file.rules.some((x: { id: string }) => x.id === 'rule:exp'));
  });

  it('export → delete apps, bans, rules, resources → import restores them all', async () => {
    await c!.store.configDelete('rules', 'rule:exp');
    ok(await on(a, 'DELETE', `/resources/${enc(resourceId)}`), ['code']);
    ok(await on(a, 'DELETE', '/apps/exported'), ['code']);
    ok(await on(a, 'DELETE', `/banned/clientid/${enc(who)}`), ['code']);
    ok(await on(b, 'POST', '/data/import', { filename }), ['code']);
    assert.ok((await c!.store.configList('rules')).some((r) => r.id === 'rule:exp'));
    assert.ok((await on(a, 'GET', '/banned?_limit=1000')).body.data.some((x: { who: string }) => x.who === who));
    assert.equal((await on(a, 'GET', `/resources/${enc(resourceId)}`)).body.data.description, 'exported');
    // the restored app authenticates with its old secret: the hash came back
    await eventually(async () => assert.equal((await api(a!.url, 'GET', '/api/v4/brokers', { auth: 'exported:s3cret' })).status, 200));
    // and every node instantiated the restored resource
    await eventually(async () => {
      const r = await on(a, 'GET', `/resources/${enc(resourceId)}`);
      assert.ok(r.body.data.status.every((s: { is_alive: boolean }) => s.is_alive), JSON.stringify(r.body.data.status));
    });
  });

  it('an EMQX file (clear secrets) imports too', async () => {
    const file = JSON.stringify({ version: '4.4.19', date: '2020-05-18 17:17:44', apps: [{ id: 'fromemqx', secret: 'plain', name: 'E', desc: '', status: true, expired: 'undefined' }], blacklist: [], schemas: [], auth_mnesia: [] });
    ok(await on(a, 'POST', '/data/file', { filename: 'emqx-export-old.json', file }), ['code']);
    ok(await on(a, 'POST', '/data/import', { filename: 'emqx-export-old.json' }), ['code']);
    await eventually(async () => assert.equal((await api(a!.url, 'GET', '/api/v4/brokers', { auth: 'fromemqx:plain' })).status, 200));
  });

  it('a bad file changes nothing and answers what is wrong', async () => {
    const snapshot = async () => JSON.stringify([await c!.store.configList('apps'), await c!.store.configList('banned'), await c!.store.configList('resources'), await c!.store.configList('rules')]);
    const was = await snapshot();
    const good = { who: 'fine', as: 'clientid', reason: '', by: 'x', at: 1, until: 4_000_000_000 };
    const cases: [string, RegExp][] = [
      ['not json', /not JSON/],
      ['[1]', /not a JSON object/],
      [JSON.stringify({ apps: [] }), /no version/],
      [JSON.stringify({ version: '1', blacklist: [good, { who: 'x', as: 'nope' }] }), /blacklist\[1\]/],
      [JSON.stringify({ version: '1', blacklist: [good], resources: [{ id: 'resource:bad', type: 'web_hook', config: { url: 7 }, description: '', created_at: 1 }] }), /resources\[0\].*config\.url/],
      [JSON.stringify({ version: '1', blacklist: [good], rules: [{ id: 'r', actions: [{ name: 'data_to_webserver', params: { $resource: 'resource:gone' } }] }] }), /resource:gone/],
      [JSON.stringify({ version: '1', apps: 'many' }), /apps is not an array/],
    ];
    for (const [content, why] of cases) {
      ok(await on(a, 'POST', '/data/file', { filename: 'bad.json', file: content.startsWith('{') || content.startsWith('[') ? content : JSON.stringify(content) }), ['code']);
      if (!content.startsWith('{') && !content.startsWith('[')) {
        // stored text that is no JSON can only come from the store itself: write it there
        await c!.store.configPut('data_files', { filename: 'bad.json', created_at: Date.now(), content }, 'upsert');
      }
      const r = await on(a, 'POST', '/data/import', { filename: 'bad.json' });
      fails(r, 400, 108);
      assert.match(r.body.message, why, content);
    }
    assert.equal(await snapshot(), was);
    fails(await on(a, 'POST', '/data/import', { filename: 'absent.json' }), 404, 404);
    fails(await on(a, 'POST', '/data/import', {}), 400, 107);
  });

  it('file names that could name a path are refused', async () => {
    for (const name of ['../etc/passwd', '..', '.hidden', 'a/b.json', 'a\\b.json', 'a\u0000b', 'x'.repeat(200), '', 'a..b']) {
      const up = await on(a, 'POST', '/data/file', { filename: name, file: '{}' });
      fails(up, 400, 108);
      fails(await on(a, 'POST', '/data/import', { filename: name }), 400, 108);
    }
    for (const path of ['..%2F..%2Fetc%2Fpasswd', '%2E%2E', 'a%00b', '.env']) {
      const r = await on(a, 'GET', `/data/file/${path}`);
      assert.ok(r.status === 400 || r.status === 404, `${path}: ${r.status}`);
      assert.notEqual(r.body.code, 0);
      const d = await on(a, 'DELETE', `/data/file/${path}`);
      assert.notEqual(d.body.code, 0);
    }
    fails(await on(a, 'POST', '/data/file', { filename: 'x.json', file: 'not json' }), 400, 108);
  });

  it('a file uploaded through one gateway is served and deleted through the other', async () => {
    ok(await on(a, 'POST', '/data/file', { filename: 'shared.json', file: '{"version":"x"}' }), ['code']);
    const got = await on(b, 'GET', '/data/file/shared.json');
    ok(got, ['code', 'file', 'filename']);
    assert.equal(got.body.file, '{"version":"x"}');
    ok(await on(b, 'DELETE', '/data/file/shared.json'), ['code']);
    fails(await on(a, 'GET', '/data/file/shared.json'), 404, 404);
    fails(await on(a, 'DELETE', '/data/file/shared.json'), 404, 404);
  });
});

describe('telemetry', () => {
  it('the switch is cluster config: set through one gateway, read through the other', async () => {
    ok(await on(a, 'PUT', '/telemetry/status', { enabled: false }), ['code']);
    assert.deepEqual((await on(b, 'GET', '/telemetry/status')).body, { code: 0, data: { enabled: false } });
    ok(await on(b, 'PUT', '/telemetry/status', { enabled: true }), ['code']);
    assert.deepEqual((await on(a, 'GET', '/telemetry/status')).body, { code: 0, data: { enabled: true } });
    fails(await on(a, 'PUT', '/telemetry/status', { enabled: 'yes' }), 400, 108);
    fails(await on(a, 'PUT', '/telemetry/status', {}), 400, 107);
  });

  it('the data has the spec fields, from the nodes, with one uuid for the cluster', async () => {
    await connectClient(tcpUrl(c!.node('n2').mqttPort), { clientId: uid('tele') });
    const r = await on(a, 'GET', '/telemetry/data');
    ok(r);
    const d = r.body.data;
    assert.deepEqual(
      Object.keys(d).sort(),
      ['active_modules', 'active_plugins', 'emqx_version', 'license', 'messages_received', 'messages_sent', 'nodes_uuid', 'num_clients', 'os_name', 'os_version', 'otp_version', 'up_time', 'uuid'].sort(),
    );
    assert.match(d.uuid, /^[0-9A-F-]{36}$/);
    assert.equal((await on(b, 'GET', '/telemetry/data')).body.data.uuid, d.uuid);
    assert.ok(Number.isInteger(d.up_time) && d.up_time > 0);
    assert.ok(d.num_clients >= 1);
    assert.equal(d.nodes_uuid.length, 3);
    assert.equal(new Set(d.nodes_uuid.map((n: { uuid: string }) => n.uuid)).size, 3);
    assert.deepEqual(d.license, { edition: 'community' });
    assert.ok(d.active_plugins.includes('emqx_management'), JSON.stringify(d.active_plugins));
    assert.ok(Array.isArray(d.active_modules));
    for (const k of ['emqx_version', 'otp_version', 'os_name', 'os_version']) assert.equal(typeof d[k], 'string', k);
    for (const k of ['messages_sent', 'messages_received']) assert.ok(Number.isInteger(d[k]), k);
  });

  it('reports go only to the configured URL, only while enabled', async () => {
    // gateway a has no URL; b and b2 report every second while enabled, once per second between them
    const reports = () => sink!.requests.filter((x) => x.url === '/telemetry');
    await eventually(() => assert.ok(reports().length > 0), 5000);
    const report = JSON.parse(reports()[0]!.body);
    assert.equal(report.license.edition, 'community');
    assert.equal(report.uuid, (await on(a, 'GET', '/telemetry/data')).body.data.uuid);
    const from = reports().length;
    await new Promise((r) => setTimeout(r, 3000));
    const sent = reports().length - from;
    assert.ok(sent >= 1 && sent <= 4, `${sent} reports in 3 s from two gateways at one a second: claimed once per interval`);
    ok(await on(a, 'PUT', '/telemetry/status', { enabled: false }), ['code']);
    await new Promise((r) => setTimeout(r, 1500));
    const n = sink!.requests.filter((x) => x.url === '/telemetry').length;
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(sink!.requests.filter((x) => x.url === '/telemetry').length, n, 'no report while disabled');
  });
});
