// GET /api/v4/plugins, /nodes/{node}/plugins and PUT /nodes/{node}/plugins/{plugin}/load|unload|reload
// on a real 3-node cluster through a gateway process, with real MQTT clients: a switch acts on
// that one node, changes what its clients observe (retainer, users file), answers EMQX's codes
// and survives a restart of the node.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VERSION } from '../../shared/version.js';
import { activeOn as featureActive } from '../support/features.js';
import { fullName, startCluster, type TestCluster } from '../support/cluster.js';
import { api, fails, ok, startGateway, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, RawClient, tcpUrl, uid } from '../support/mqtt-clients.js';
import { eventually } from '../support/wait.js';

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
let base = '';
const dir = mkdtempSync(join(tmpdir(), 'starling-plugins-'));
const usersFile = join(dir, 'users.json');

before(async () => {
  writeFileSync(usersFile, JSON.stringify([{ username: 'alice', password: 'secret' }]));
  c = await startCluster(['n1', 'n2', 'n3'], { STARLING_USERS_FILE: usersFile });
  gw = await startGateway(c);
  base = gw.url;
});

after(async () => {
  await closeAllClients();
  await gw?.stop();
  await c?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const N = ['n1', 'n2', 'n3'].map(fullName);
const put = (node: string, plugin: string, op: string) => api(base, 'PUT', `/api/v4/nodes/${fullName(node)}/plugins/${plugin}/${op}`);
const url = (node: string): string => tcpUrl(c!.node(node).mqttPort);

const activeOn = (plugin: string) => featureActive(base, 'plugins', plugin);

async function moduleActive(node: string, module: string): Promise<boolean> {
  const r = await api(base, 'GET', `/api/v4/nodes/${fullName(node)}/modules`);
  ok(r);
  return (r.body.data as { name: string; active: boolean }[]).find((m) => m.name === module)!.active;
}

/** Whether a client subscribing on `node` now gets a retained message on `topic` (a barrier proves one that did not come). */
async function retainedOn(node: string, topic: string): Promise<string | undefined> {
  const sub = await connectClient(url(node), { clientId: uid('late') });
  await sub.subscribe(topic, { qos: 1 });
  await sub.barrier();
  const got = sub.messages(topic);
  await sub.end();
  assert.ok(got.length <= 1);
  if (got[0]) assert.equal(got[0].retain, true, 'a retained message is delivered with the retain flag');
  return got[0]?.payload;
}

describe('plugins', () => {
  it('GET /plugins and /nodes/{node}/plugins answer the spec shape, with the catalog on every node', async () => {
    const r = await api(base, 'GET', '/api/v4/plugins');
    ok(r);
    assert.deepEqual(
      r.body.data.map((n: { node: string }) => n.node),
      N,
    );
    for (const n of r.body.data) {
      assert.deepEqual(Object.keys(n).sort(), ['node', 'plugins']);
      for (const p of n.plugins) {
        assert.deepEqual(Object.keys(p).sort(), ['active', 'description', 'name', 'type', 'version']);
        assert.equal(typeof p.description, 'string');
        assert.equal(typeof p.active, 'boolean');
        assert.ok(['auth', 'bridge', 'feature', 'protocol'].includes(p.type), p.type);
        assert.equal(p.version, VERSION);
      }
      const names = n.plugins.map((p: { name: string }) => p.name);
      assert.deepEqual(names, [...names].sort(), 'by name, as EMQX lists them');
      const by = Object.fromEntries(n.plugins.map((p: { name: string }) => [p.name, p]));
      assert.deepEqual(by.emqx_management, { name: 'emqx_management', version: VERSION, description: 'EMQX Management API and CLI', active: true, type: 'feature' });
      assert.deepEqual(by.emqx_retainer, { name: 'emqx_retainer', version: VERSION, description: 'EMQX Retainer', active: true, type: 'feature' });
      assert.equal(by.emqx_delayed_publish.active, true);
      assert.equal(by.emqx_auth_username.type, 'auth');
      assert.equal(by.emqx_auth_username.active, true, 'on: a users file is configured');
    }
    const one = await api(base, 'GET', `/api/v4/nodes/${N[1]}/plugins`);
    ok(one);
    assert.deepEqual(one.body.data, r.body.data[1].plugins);
    fails(await api(base, 'GET', '/api/v4/nodes/nobody@127.0.0.1/plugins'), 404, 404);
  });

  it('answers 110, 111, 404 and 102 as EMQX does', async () => {
    fails(await put('n1', 'emqx_retainer', 'load'), 200, 110);
    fails(await put('n1', 'emqx_no_such_plugin', 'load'), 404, 404);
    fails(await put('n1', 'emqx_mod_presence', 'load'), 404, 404); // a module, not a plugin
    fails(await api(base, 'PUT', '/api/v4/nodes/nobody@127.0.0.1/plugins/emqx_retainer/load'), 404, 404);
    const refused = await put('n1', 'emqx_management', 'unload');
    fails(refused, 200, 102);
    assert.match(refused.body.message, /emqx_management cannot be unloaded/);
    assert.deepEqual(await activeOn('emqx_management'), [true, true, true]);
    ok(await put('n1', 'emqx_management', 'reload'), ['code']);
    ok(await put('n2', 'emqx_delayed_publish', 'unload'), ['code']);
    fails(await put('n2', 'emqx_delayed_publish', 'unload'), 200, 111);
    ok(await put('n2', 'emqx_delayed_publish', 'load'), ['code']);
  });

  it('emqx_retainer unloaded on one node: retained messages there are neither stored nor served, and are again once loaded', async () => {
    const topic = `ret/${uid()}`;
    const r = await put('n1', 'emqx_retainer', 'unload');
    ok(r, ['code']);
    assert.deepEqual(r.body, { code: 0 });
    // the answer reflects the node: off on n1 only, under its module name too
    assert.deepEqual(await activeOn('emqx_retainer'), [false, true, true]);
    assert.equal(await moduleActive('n1', 'emqx_mod_retainer'), false);
    assert.equal(await moduleActive('n2', 'emqx_mod_retainer'), true);

    // published retained on n1: a live subscriber gets it as a normal message, nobody later
    const live = await connectClient(url('n2'), { clientId: uid('live') });
    await live.subscribe(topic, { qos: 1 });
    const pub = await connectClient(url('n1'), { clientId: uid('pub') });
    await pub.publish(topic, 'not-kept', { qos: 1, retain: true });
    const m = await live.waitForMessage(topic);
    assert.equal(m.payload, 'not-kept');
    assert.equal(m.retain, false);
    assert.equal(await retainedOn('n1', topic), undefined);
    assert.equal(await retainedOn('n2', topic), undefined, 'not stored cluster-wide either');

    // stored by n2 (retainer on): n2 serves it, n1 does not until its retainer is loaded again
    const pub2 = await connectClient(url('n2'), { clientId: uid('pub') });
    await pub2.publish(topic, 'kept', { qos: 1, retain: true });
    await eventually(async () => assert.equal(await retainedOn('n3', topic), 'kept'));
    assert.equal(await retainedOn('n1', topic), undefined);
    ok(await put('n1', 'emqx_retainer', 'load'), ['code']);
    assert.deepEqual(await activeOn('emqx_retainer'), [true, true, true]);
    assert.equal(await retainedOn('n1', topic), 'kept');
    await pub.publish(topic, 'kept-by-n1', { qos: 1, retain: true });
    await eventually(async () => assert.equal(await retainedOn('n2', topic), 'kept-by-n1'));
    await pub.publish(topic, '', { qos: 1, retain: true });
  });

  it('emqx_auth_username: unloaded, the users file is not consulted; reload reads an edited file', async () => {
    const code = async (node: string, username: string, password: string): Promise<number> => {
      const { raw, connack } = await RawClient.connect(c!.node(node).mqttPort, { clientId: uid('auth'), username, password: Buffer.from(password) });
      await raw.destroy();
      return connack.returnCode!;
    };
    assert.equal(await code('n3', 'alice', 'secret'), 0);
    assert.equal(await code('n3', 'alice', 'wrong'), 4, 'bad username or password');
    ok(await put('n3', 'emqx_auth_username', 'unload'), ['code']);
    // alice is now unknown: anonymous access (allowed by default) lets her in whatever the password
    assert.equal(await code('n3', 'alice', 'wrong'), 0);
    assert.equal(await code('n2', 'alice', 'wrong'), 4, 'n2 still consults the file');
    ok(await put('n3', 'emqx_auth_username', 'load'), ['code']);
    assert.equal(await code('n3', 'alice', 'wrong'), 4);

    writeFileSync(usersFile, JSON.stringify([{ username: 'alice', password: 'changed' }]));
    ok(await put('n3', 'emqx_auth_username', 'reload'), ['code']);
    assert.equal(await code('n3', 'alice', 'changed'), 0);
    assert.equal(await code('n3', 'alice', 'secret'), 4);
    assert.equal(await code('n2', 'alice', 'secret'), 0, 'n2 was not reloaded');

    // a file that does not parse refuses the reload (102) and leaves the plugin as it was
    writeFileSync(usersFile, '[{"username": ');
    const bad = await put('n3', 'emqx_auth_username', 'reload');
    fails(bad, 200, 102);
    assert.match(bad.body.message, /users file/);
    assert.deepEqual(await activeOn('emqx_auth_username'), [true, true, false]);
    writeFileSync(usersFile, JSON.stringify([{ username: 'alice', password: 'secret' }]));
    ok(await put('n3', 'emqx_auth_username', 'load'), ['code']);
    assert.equal(await code('n3', 'alice', 'secret'), 0);
  });

  it("a plugin's state survives a restart of its node", async () => {
    ok(await put('n3', 'emqx_retainer', 'unload'), ['code']);
    assert.deepEqual(await activeOn('emqx_retainer'), [true, true, false]);
    await c!.node('n3').stop();
    await c!.startNode('n3');
    await eventually(async () => assert.deepEqual(await activeOn('emqx_retainer'), [true, true, false]), 5000, 100);
    const topic = `ret/${uid()}`;
    const pub = await connectClient(url('n3'), { clientId: uid('pub') });
    await pub.publish(topic, 'x', { qos: 1, retain: true });
    assert.equal(await retainedOn('n3', topic), undefined);
    assert.equal(await retainedOn('n1', topic), undefined);
    ok(await put('n3', 'emqx_retainer', 'load'), ['code']);
    assert.deepEqual(await activeOn('emqx_retainer'), [true, true, true]);
    // the record is the node's own
    const records = await c!.store.configList('feature_states');
    assert.deepEqual(
      records.filter((r) => r.feature === 'retainer'),
      [
        { feature: 'retainer', scope: N[0], active: true },
        { feature: 'retainer', scope: N[2], active: true },
      ],
    );
  });
});
