// GET /api/v4/modules, /nodes/{node}/modules and PUT [/nodes/{node}]/modules/{module}/load|unload|reload
// on a real 3-node cluster through a gateway process, with real MQTT clients: delayed
// publish, presence and the internal ACL switched per node and cluster-wide change what
// clients observe; a cluster-wide switch is kept as the '*' record every node applies.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { activeOn as featureActive } from '../support/features.js';
import { fullName, startCluster, type TestCluster } from '../support/cluster.js';
import { api, fails, ok, startGateway, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, PresenceWatcher, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';
import { eventually, sleep } from '../support/wait.js';

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
let base = '';
const dir = mkdtempSync(join(tmpdir(), 'starling-modules-'));
const aclFile = join(dir, 'acl.conf');

before(async () => {
  writeFileSync(aclFile, '{deny, all, subscribe, ["secret/#"]}.\n{allow, all}.\n');
  c = await startCluster(['n1', 'n2', 'n3'], { STARLING_ACL_FILE: aclFile });
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
const url = (node: string): string => tcpUrl(c!.node(node).mqttPort);
const everywhere = (module: string, op: string) => api(base, 'PUT', `/api/v4/modules/${module}/${op}`);
const onNode = (node: string, module: string, op: string) => api(base, 'PUT', `/api/v4/nodes/${fullName(node)}/modules/${module}/${op}`);

const activeOn = (module: string) => featureActive(base, 'modules', module);
const pluginActiveOn = (plugin: string) => featureActive(base, 'plugins', plugin);

async function client(node: string, ...topics: string[]): Promise<TestClient> {
  const cl = await connectClient(url(node), { clientId: uid('c') });
  if (topics.length) await cl.subscribe(topics, { qos: 1 });
  return cl;
}

describe('modules', () => {
  it('GET /modules and /nodes/{node}/modules answer the spec shape', async () => {
    const r = await api(base, 'GET', '/api/v4/modules');
    ok(r);
    assert.deepEqual(
      r.body.data.map((n: { node: string }) => n.node),
      N,
    );
    for (const n of r.body.data) {
      assert.deepEqual(Object.keys(n).sort(), ['modules', 'node']);
      for (const m of n.modules) {
        assert.deepEqual(Object.keys(m).sort(), ['active', 'description', 'name']);
        assert.equal(typeof m.active, 'boolean');
      }
      const by = Object.fromEntries(n.modules.map((m: { name: string }) => [m.name, m]));
      assert.deepEqual(by.emqx_mod_delayed, { name: 'emqx_mod_delayed', description: 'EMQX Delayed Publish Module', active: true });
      assert.deepEqual(by.emqx_mod_presence, { name: 'emqx_mod_presence', description: 'EMQX Presence Module', active: true });
      assert.deepEqual(by.emqx_mod_acl_internal, { name: 'emqx_mod_acl_internal', description: 'EMQX Internal ACL Module', active: true });
      assert.equal(by.emqx_mod_retainer.active, true);
    }
    const one = await api(base, 'GET', `/api/v4/nodes/${N[2]}/modules`);
    ok(one);
    assert.deepEqual(one.body.data, r.body.data[2].modules);
  });

  it('answers 110, 111, 404 and 102 per node and cluster-wide', async () => {
    fails(await everywhere('emqx_mod_presence', 'load'), 200, 110);
    fails(await onNode('n1', 'emqx_mod_presence', 'load'), 200, 110);
    fails(await everywhere('emqx_mod_nothing', 'load'), 404, 404);
    fails(await onNode('n1', 'emqx_mod_nothing', 'unload'), 404, 404);
    fails(await onNode('n1', 'emqx_retainer', 'unload'), 404, 404); // a plugin, not a module
    fails(await api(base, 'PUT', '/api/v4/nodes/nobody@127.0.0.1/modules/emqx_mod_presence/load'), 404, 404);
    const r = await everywhere('emqx_mod_presence', 'reload');
    fails(r, 200, 102);
    assert.match(r.body.message, /only emqx_mod_acl_internal/);
    fails(await onNode('n2', 'emqx_mod_delayed', 'reload'), 200, 102);
    ok(await onNode('n2', 'emqx_mod_delayed', 'unload'), ['code']);
    fails(await onNode('n2', 'emqx_mod_delayed', 'unload'), 200, 111);
    ok(await onNode('n2', 'emqx_mod_delayed', 'load'), ['code']);
    assert.deepEqual(await c!.store.configList('feature_states'), [{ feature: 'delayed_publish', scope: N[1], active: true }]);
    // a module cluster-wide: the '*' record replaces the nodes' own
    ok(await everywhere('emqx_mod_delayed', 'unload'), ['code']);
    fails(await everywhere('emqx_mod_delayed', 'unload'), 200, 111);
    ok(await everywhere('emqx_mod_delayed', 'load'), ['code']);
    assert.deepEqual(await c!.store.configList('feature_states'), [{ feature: 'delayed_publish', scope: '*', active: true }]);
  });

  it('emqx_mod_delayed: delays while loaded, is an ordinary topic while unloaded, and keeps what was waiting', async () => {
    const t = `delayed/${uid()}`;
    const sub = await client('n2', t, '$delayed/#');
    const pub = await client('n1');
    const sent = Date.now();
    await pub.publish(`$delayed/1/${t}`, 'later', { qos: 1 });
    const m = await sub.waitForMessage(t, { timeoutMs: 3000 });
    assert.equal(m.payload, 'later');
    assert.ok(Date.now() - sent >= 900, `arrived after ${Date.now() - sent} ms`);

    // unloaded everywhere: the answer says every node switched, and the plugin name agrees
    const r = await everywhere('emqx_mod_delayed', 'unload');
    ok(r, ['code']);
    assert.deepEqual(await activeOn('emqx_mod_delayed'), [false, false, false]);
    assert.deepEqual(await pluginActiveOn('emqx_delayed_publish'), [false, false, false]);
    const from = sub.mark();
    await pub.publish(`$delayed/1/${t}`, 'literal', { qos: 1 });
    const literal = await sub.waitForMessage(`$delayed/1/${t}`, { from, timeoutMs: 1000 });
    assert.equal(literal.payload, 'literal');
    await sleep(1300);
    await sub.barrier();
    assert.deepEqual(sub.messages(t).slice(1), [], 'nothing delayed');

    // a message waiting when the module is unloaded is kept, and published once it is loaded again
    ok(await everywhere('emqx_mod_delayed', 'load'), ['code']);
    await pub.publish(`$delayed/1/${t}`, 'kept', { qos: 1 });
    ok(await everywhere('emqx_mod_delayed', 'unload'), ['code']);
    await sleep(1500);
    await sub.barrier();
    assert.equal(sub.messages(t).length, 1, 'not published while unloaded');
    ok(await everywhere('emqx_mod_delayed', 'load'), ['code']);
    assert.equal((await sub.waitForMessage((x) => x.topic === t && x.payload === 'kept', { timeoutMs: 1000 })).payload, 'kept');
  });

  it('emqx_mod_presence: unloaded on one node, that node stops its events and the others go on', async () => {
    const w2 = await PresenceWatcher.start(c!.node('n2').mqttPort, N[1]!);
    const w3 = await PresenceWatcher.start(c!.node('n3').mqttPort, N[2]!);
    const a = await client('n2');
    await w2.connected(a.clientId);

    ok(await onNode('n2', 'emqx_mod_presence', 'unload'), ['code']);
    assert.deepEqual(await activeOn('emqx_mod_presence'), [true, false, true]);
    const from = w2.mark();
    const b = await client('n2');
    const d = await client('n3');
    await w3.connected(d.clientId);
    await w2.client.barrier();
    assert.deepEqual(
      w2.client.messages().slice(from).map((m) => m.topic),
      [],
      'no presence event from n2',
    );

    // a cluster-wide load replaces n2's own record: events come again
    ok(await everywhere('emqx_mod_presence', 'load'), ['code']);
    assert.deepEqual(await activeOn('emqx_mod_presence'), [true, true, true]);
    const e = await client('n2');
    await w2.connected(e.clientId, { from });
    await b.end();
    await w2.disconnected(b.clientId, { from });
    const records = (await c!.store.configList('feature_states')).filter((r) => r.feature === 'presence');
    assert.deepEqual(records, [{ feature: 'presence', scope: '*', active: true }]);
  });

  it("every node applies a change of the '*' record within a second", async () => {
    await c!.store.configPut('feature_states', { feature: 'presence', scope: '*', active: false }, 'upsert');
    const started = Date.now();
    await eventually(async () => assert.deepEqual(await activeOn('emqx_mod_presence'), [false, false, false]), 1000, 50);
    // a node's own record wins over '*'
    await c!.store.configPut('feature_states', { feature: 'presence', scope: N[0]!, active: true }, 'upsert');
    await eventually(async () => assert.deepEqual(await activeOn('emqx_mod_presence'), [true, false, false]), 1000, 50);
    // no record: the catalog default (presenceEvents, on)
    await c!.store.configDelete('feature_states', `*/presence`);
    await c!.store.configDelete('feature_states', `${N[0]}/presence`);
    await eventually(async () => assert.deepEqual(await activeOn('emqx_mod_presence'), [true, true, true]), 1000, 50);
    assert.ok(Date.now() - started < 3000);
  });

  it('emqx_mod_acl_internal: reload applies an edited ACL file at once (the ACL caches are cleared); unloaded, no rule applies', async () => {
    const locked = `locked/${uid()}`;
    const watcher = await client('n3', 'locked/#');
    const pub1 = await client('n1');
    const pub2 = await client('n2');
    const s = await connectClient(url('n1'), { clientId: uid('s') });
    await assert.rejects(s.subscribe('secret/a', { qos: 0 }), (err: { packet?: { granted?: number[] } }) => err.packet?.granted?.[0] === 128);
    // allowed and cached on n1
    await pub1.publish(locked, 'before', { qos: 1 });
    await watcher.waitForMessage((m) => m.payload === 'before');

    writeFileSync(aclFile, '{deny, all, publish, ["locked/#"]}.\n{allow, all}.\n');
    ok(await everywhere('emqx_mod_acl_internal', 'reload'), ['code']);
    assert.deepEqual((await s.subscribe('secret/a', { qos: 0 })).map((g) => g.qos), [0], 'the subscribe rule is gone');
    const from = watcher.mark();
    await pub1.publish(locked, 'after-reload', { qos: 1 });
    await pub2.publish(locked, 'after-reload', { qos: 1 });
    await watcher.barrier();
    assert.deepEqual(watcher.messages().slice(from), [], 'the new deny rule applies, the cached allow is gone');

    // unloaded on n2: its publisher is no longer checked against the file; n1 still is
    ok(await onNode('n2', 'emqx_mod_acl_internal', 'unload'), ['code']);
    fails(await onNode('n2', 'emqx_mod_acl_internal', 'reload'), 200, 111);
    await pub2.publish(locked, 'unchecked', { qos: 1 });
    await pub1.publish(locked, 'checked', { qos: 1 });
    await watcher.waitForMessage((m) => m.payload === 'unchecked', { from });
    await watcher.barrier();
    assert.deepEqual(
      watcher.messages().slice(from).map((m) => m.payload),
      ['unchecked'],
    );
    ok(await onNode('n2', 'emqx_mod_acl_internal', 'load'), ['code']);
    await pub2.publish(locked, 'checked-again', { qos: 1 });
    await watcher.barrier();
    assert.equal(watcher.messages().slice(from).length, 1);

    // a file that does not parse: the reload is refused on every node and the rules stay
    writeFileSync(aclFile, '{deny, all, publish');
    const bad = await everywhere('emqx_mod_acl_internal', 'reload');
    fails(bad, 200, 102);
    assert.match(bad.body.message, new RegExp(`^${N[0]}: `));
    await pub1.publish(locked, 'still-denied', { qos: 1 });
    await watcher.barrier();
    assert.equal(watcher.messages().slice(from).length, 1);
  });

  it('a cluster-wide switch with a node not answering is 101 naming it', async () => {
    await c!.node('n3').kill9();
    const r = await everywhere('emqx_mod_presence', 'unload');
    fails(r, 200, 101);
    assert.match(r.body.message, /n3@127\.0\.0\.1/);
  });
});
