// starling-ctl (a real child process) against a stand-in HTTP server that answers with the
// EMQX v4 spec's own examples: how the per-node resources (plugins, modules, listeners,
// alarms, metrics, stats) render in their cluster and per-node forms, and the failures a
// real gateway cannot be made to produce on demand: a gateway that never answers, an answer
// that is not the API (a proxy's error page), an endpoint it does not serve, an RPC error.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runCli, shown, succeeded, type CliRun } from '../support/cli.js';

const NODE = 'emqx@127.0.0.1';
const N2 = 'emqx2@127.0.0.1';
const PLUGINS = [
  { version: 'develop', type: 'auth', name: 'emqx_auth_clientid', description: 'EMQX Authentication with ClientId/Password', active: false },
  { version: 'develop', type: 'feature', name: 'emqx_retainer', description: 'EMQX Retainer', active: true },
];
const MODULES = [
  { name: 'emqx_mod_delayed', description: 'EMQX Delayed Publish Module', active: true },
  { name: 'emqx_mod_topic_metrics', description: 'EMQX Topic Metrics Module', active: false },
];
const LISTENERS = [
  { shutdown_count: [], protocol: 'mqtt:ssl', max_conns: 102400, listen_on: '8883', current_conns: 0, acceptors: 16 },
  { shutdown_count: { kicked: 2, normal: 5 }, protocol: 'mqtt:tcp', max_conns: 1024000, listen_on: '0.0.0.0:1883', current_conns: 13, acceptors: 8 },
];
const ALARMS = [
  { name: 'high_system_memory_usage', message: 'System memory usage is higher than 60%', details: { high_watermark: 60 }, deactivate_at: 'infinity', activated: true, activate_at: 1597996203658236 },
  { name: 'high_system_memory_usage', message: 'System memory usage is higher than 60%', details: { high_watermark: 60 }, deactivate_at: 1597994359335482, activated: false, activate_at: 1597993108657522 },
];
const METRICS = { 'bytes.received': 805, 'messages.received': 0, 'client.connect': 13 };
const METRICS2 = { 'bytes.received': 17, 'messages.received': 4, 'client.connect': 1 };
const STATS = { 'connections.count': 13, 'connections.max': 20 };

/** path → the body answered with HTTP 200 (the spec's examples, cluster and per-node forms) */
const ANSWERS: Record<string, unknown> = {
  '/api/v4/plugins': { data: [{ plugins: PLUGINS, node: NODE }], code: 0 },
  [`/api/v4/nodes/${NODE}/plugins`]: { data: PLUGINS, code: 0 },
  '/api/v4/modules': { data: [{ node: NODE, modules: MODULES }], code: 0 },
  [`/api/v4/nodes/${NODE}/modules`]: { data: MODULES, code: 0 },
  '/api/v4/listeners': { data: [{ node: NODE, listeners: LISTENERS }], code: 0 },
  [`/api/v4/nodes/${NODE}/listeners`]: { data: LISTENERS, code: 0 },
  '/api/v4/alarms': { data: [{ node: NODE, alarms: ALARMS }], code: 0 },
  '/api/v4/alarms/activated': { data: [{ node: NODE, alarms: [ALARMS[0]] }], code: 0 },
  [`/api/v4/nodes/${NODE}/alarms/deactivated`]: { data: [ALARMS[1]], code: 0 },
  '/api/v4/metrics': { data: [{ node: NODE, metrics: METRICS }, { node: N2, metrics: METRICS2 }], code: 0 },
  [`/api/v4/nodes/${NODE}/metrics`]: { data: METRICS, code: 0 },
  '/api/v4/stats': { data: [{ stats: STATS, node: NODE }], code: 0 },
  [`/api/v4/nodes/${NODE}/plugins/emqx_retainer/load`]: { code: 110, message: 'plugin emqx_retainer already loaded' },
  [`/api/v4/nodes/${NODE}/plugins/emqx_auth_clientid/load`]: { code: 0 },
  '/api/v4/modules/emqx_mod_topic_metrics/load': { code: 0 },
  [`/api/v4/nodes/${NODE}/modules/emqx_mod_delayed/unload`]: { code: 0 },
  '/api/v4/clients': { code: 101, message: `rpc to node ${N2} failed: timeout` },
};

let server: Server;
let url = '';
/** method and path of every request, and its authorization header */
const seen: { method: string; path: string; auth: string | undefined }[] = [];

function answer(req: IncomingMessage, res: ServerResponse): void {
  const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
  seen.push({ method: req.method!, path, auth: req.headers.authorization });
  if (path === '/api/v4/nodes') return void 0; // never answers: the timeout case
  if (path === '/status') return void res.writeHead(503, { 'content-type': 'text/plain' }).end('Node none is started\nemqx is not_running\n');
  if (path === '/api/v4/routes') return void res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>');
  const body = ANSWERS[path];
  if (body === undefined) return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 404, message: 'not found' }));
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

before(async () => {
  server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const ctl = (...args: string[]): Promise<CliRun> => runCli(['--url', url, ...args]);

function lines(stdout: string): string[] {
  return stdout.trimEnd().split('\n');
}

describe('per-node resources, cluster-wide and with --node', () => {
  it('plugins list: one row per node and plugin; --json is the API\'s data in either form', async () => {
    const out = lines(succeeded(await ctl('plugins', 'list')));
    assert.deepEqual(out, [
      'NODE            NAME                VERSION  TYPE     ACTIVE  DESCRIPTION',
      'emqx@127.0.0.1  emqx_auth_clientid  develop  auth     false   EMQX Authentication with ClientId/Password',
      'emqx@127.0.0.1  emqx_retainer       develop  feature  true    EMQX Retainer',
    ]);
    assert.deepEqual(lines(succeeded(await ctl('plugins', 'list', '--node', NODE))), out);
    assert.deepEqual(JSON.parse(succeeded(await ctl('plugins', 'list', '--json'))), [{ plugins: PLUGINS, node: NODE }]);
    assert.deepEqual(JSON.parse(succeeded(await ctl('plugins', 'list', '--node', NODE, '--json'))), PLUGINS);
  });

  it('plugins load and unload go to the node named; the API\'s 110 is exit 1 with its code and message', async () => {
    assert.equal(succeeded(await ctl('plugins', 'load', NODE, 'emqx_auth_clientid')), `plugin emqx_auth_clientid loaded on ${NODE}\n`);
    assert.deepEqual(seen.at(-1), { method: 'PUT', path: `/api/v4/nodes/${NODE}/plugins/emqx_auth_clientid/load`, auth: `Basic ${Buffer.from('admin:public').toString('base64')}` });
    const r = await ctl('plugins', 'load', NODE, 'emqx_retainer');
    assert.equal(r.code, 1, shown(r));
    assert.equal(r.stderr, `starling-ctl: error: PUT /api/v4/nodes/${encodeURIComponent(NODE)}/plugins/emqx_retainer/load: code 110 (plugin loaded): plugin emqx_retainer already loaded\n`);
  });

  it('modules list, and load/unload cluster-wide or on one node', async () => {
    assert.deepEqual(lines(succeeded(await ctl('modules', 'list'))), [
      'NODE            NAME                    ACTIVE  DESCRIPTION',
      'emqx@127.0.0.1  emqx_mod_delayed        true    EMQX Delayed Publish Module',
      'emqx@127.0.0.1  emqx_mod_topic_metrics  false   EMQX Topic Metrics Module',
    ]);
    assert.deepEqual(JSON.parse(succeeded(await ctl('modules', 'list', '--node', NODE, '--json'))), MODULES);
    assert.equal(succeeded(await ctl('modules', 'load', 'emqx_mod_topic_metrics')), 'module emqx_mod_topic_metrics loaded on every node\n');
    assert.equal(seen.at(-1)!.path, '/api/v4/modules/emqx_mod_topic_metrics/load');
    assert.equal(succeeded(await ctl('modules', 'unload', 'emqx_mod_delayed', '--node', NODE)), `module emqx_mod_delayed unloaded on ${NODE}\n`);
    assert.equal(seen.at(-1)!.path, `/api/v4/nodes/${NODE}/modules/emqx_mod_delayed/unload`);
  });

  it('listeners: connections, limits and shutdown counts', async () => {
    assert.deepEqual(lines(succeeded(await ctl('listeners'))), [
      'NODE            PROTOCOL  LISTEN ON     CONNECTIONS      MAX  ACCEPTORS  SHUTDOWNS',
      'emqx@127.0.0.1  mqtt:ssl  8883                    0   102400         16',
      'emqx@127.0.0.1  mqtt:tcp  0.0.0.0:1883           13  1024000          8  kicked=2 normal=5',
    ]);
    assert.deepEqual(JSON.parse(succeeded(await ctl('listeners', '--node', NODE, '--json'))), LISTENERS);
  });

  it('alarms: all, activated, deactivated on one node; times shown as dates', async () => {
    const all = lines(succeeded(await ctl('alarms')));
    assert.equal(all.length, 3);
    assert.match(all[0]!, /^NODE\s+NAME\s+ACTIVATED\s+ACTIVATE AT\s+DEACTIVATE AT\s+MESSAGE\s+DETAILS$/);
    assert.match(all[1]!, /^emqx@127\.0\.0\.1 {2}high_system_memory_usage {2}true {7}2020-08-2\d \d\d:\d\d:\d\d {2}infinity {13}System memory usage is higher than 60% {2}\{"high_watermark":60\}$/);
    assert.equal(lines(succeeded(await ctl('alarms', 'activated'))).length, 2);
    assert.deepEqual(JSON.parse(succeeded(await ctl('alarms', 'deactivated', '--node', NODE, '--json'))), [ALARMS[1]]);
    const bad = await ctl('alarms', 'cleared');
    assert.equal(bad.code, 2, shown(bad));
    assert.match(bad.stderr, /Allowed choices are activated, deactivated/);
  });

  it('metrics and stats: one row per name, one column per node', async () => {
    assert.deepEqual(lines(succeeded(await ctl('metrics'))), [
      'NAME               emqx@127.0.0.1  emqx2@127.0.0.1',
      'bytes.received                805               17',
      'client.connect                 13                1',
      'messages.received               0                4',
    ]);
    assert.deepEqual(lines(succeeded(await ctl('metrics', '--node', NODE))), [
      'NAME               emqx@127.0.0.1',
      'bytes.received                805',
      'client.connect                 13',
      'messages.received               0',
    ]);
    assert.deepEqual(JSON.parse(succeeded(await ctl('stats', '--json'))), [{ stats: STATS, node: NODE }]);
  });
});

describe('failures', () => {
  it('an endpoint the gateway does not serve (404) exits 5 and says so', async () => {
    const r = await ctl('stats', '--node', NODE);
    assert.equal(r.code, 5, shown(r));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `starling-ctl: error: GET /api/v4/nodes/${encodeURIComponent(NODE)}/stats: this gateway does not serve that endpoint (HTTP 404); it may be older than this starling-ctl\n`);
  });

  it('an RPC error (101) exits 1 with the code and the API\'s message', async () => {
    const r = await ctl('clients', 'list');
    assert.equal(r.code, 1, shown(r));
    assert.match(r.stderr, new RegExp(`^starling-ctl: error: GET /api/v4/clients\\?_page=1&_limit=1000: code 101 \\(rpc error\\): rpc to node ${N2} failed: timeout\\n$`));
  });

  it('a gateway that does not answer in time exits 3', async () => {
    const started = Date.now();
    const r = await ctl('--timeout', '300', 'cluster');
    assert.equal(r.code, 3, shown(r));
    assert.equal(r.stderr, `starling-ctl: error: GET /api/v4/nodes: no answer from ${url} within 300 ms\n`);
    assert.ok(Date.now() - started < 10_000);
  });

  it('an answer that is not the API (a proxy\'s error page) exits 3', async () => {
    const r = await ctl('routes', 'list');
    assert.equal(r.code, 3, shown(r));
    assert.match(r.stderr, /GET \/api\/v4\/routes\?_page=1&_limit=1000: the answer \(HTTP 502, text\/html\) is not the management API's JSON; is http:\/\/127\.0\.0\.1:\d+ a Starling gateway\?/);
  });

  it('status prints the text and exits 3 while no node answers (503)', async () => {
    const r = await ctl('status');
    assert.equal(r.code, 3, shown(r));
    assert.equal(r.stdout, 'Node none is started\nemqx is not_running\n');
    assert.match(r.stderr, /no node of the cluster answers the gateway \(GET \/status is 503\)/);
  });
});
