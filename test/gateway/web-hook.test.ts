// emqx_web_hook through the API on a real 3-node cluster, with a local HTTP server this test
// runs: PUT /nodes/{node}/plugins/emqx_web_hook/load on n1 makes n1's clients' events arrive
// as EMQX's JSON bodies, and nobody else's (n2 has the URL too but not the plugin loaded, n3
// has no URL); a message from another node delivered on n1 is sent as message_delivered and
// message_acked; a session taken over or discarded sends no session_terminated (as EMQX); GET
// /plugins shows it; unloaded, nothing more is sent; loading where no URL is configured is
// refused (102) and leaves it unloaded; the state survives a restart of the node.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { activeOn as featureActive } from '../support/features.js';
import { fullName } from '../support/cluster.js';
import { api, fails, ok } from '../support/gateway.js';
import { useGatewayCluster } from '../support/gateway-cluster.js';
import { closeHookServer, startHookServer, type HookServer } from '../support/hook-server.js';
import { connectClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';
import { eventually, sleep } from '../support/wait.js';

let hook: HookServer | undefined;
const gc = useGatewayCluster(async () => {
  hook = await startHookServer();
  return { perNode: { n1: { STARLING_WEB_HOOK_URL: hook.url }, n2: { STARLING_WEB_HOOK_URL: hook.url } } };
});
after(async () => {
  if (hook) await closeHookServer(hook);
});

const N = ['n1', 'n2', 'n3'].map(fullName);
const put = (node: string, op: string) => api(gc.base, 'PUT', `/api/v4/nodes/${fullName(node)}/plugins/emqx_web_hook/${op}`);
const url = (node: string): string => tcpUrl(gc.c.node(node).mqttPort);
const activeOn = () => featureActive(gc.base, 'plugins', 'emqx_web_hook');

/** The bodies about one client (as the client or as a message's publisher), in arrival order. */
const about = (id: string) => hook!.bodies.filter((b) => b.clientid === id || b.from_client_id === id);

/** A client on `node` that connects with a username, publishes one QoS 1 message on its own topic and disconnects. */
async function visit(node: string): Promise<{ id: string; topic: string }> {
  const id = uid(`wh-${node}`);
  const topic = `wh/${id}`;
  const cl = await connectClient(url(node), { clientId: id, username: `u-${id}`, keepalive: 45 });
  // its PUBACK: the node has handled the publish
  await cl.publish(topic, `from ${node}`, { qos: 1 });
  await cl.end();
  return { id, topic };
}

/** Every request the nodes had queued when they handled `cl`'s round trip has had time to arrive. */
async function settle(cl: TestClient): Promise<void> {
  await cl.barrier();
  await sleep(300);
}

describe('emqx_web_hook through the API', () => {
  it('is listed unloaded on every node by default', async () => {
    const r = await api(gc.base, 'GET', '/api/v4/plugins');
    ok(r);
    for (const n of r.body.data) {
      const p = n.plugins.find((x: { name: string }) => x.name === 'emqx_web_hook');
      assert.deepEqual({ ...p, version: '' }, { name: 'emqx_web_hook', version: '', description: 'EMQX WebHook Plugin', active: false, type: 'feature' });
    }
  });

  it('loaded on n1: its clients produce EMQX bodies at the server, the other nodes none', async () => {
    ok(await put('n1', 'load'), ['code']);
    assert.deepEqual(await activeOn(), [true, false, false]);
    fails(await put('n1', 'load'), 200, 110);
    const one = await api(gc.base, 'GET', `/api/v4/nodes/${N[0]}/plugins`);
    ok(one);
    assert.equal(one.body.data.find((p: { name: string }) => p.name === 'emqx_web_hook').active, true);

    const before = Date.now();
    const on1 = await visit('n1');
    const on2 = await visit('n2');
    const on3 = await visit('n3');
    await eventually(() => assert.ok(about(on1.id).some((b) => b.action === 'session_terminated'), JSON.stringify(about(on1.id))));
    const probe = await connectClient(url('n2'), { clientId: uid('probe') });
    await settle(probe);
    await probe.end();

    const got = about(on1.id);
    const by = (action: string) => {
      const all = got.filter((b) => b.action === action);
      assert.equal(all.length, 1, `one ${action}: ${JSON.stringify(got)}`);
      return all[0]!;
    };
    const connected = by('client_connected');
    assert.deepEqual(
      { ...connected, connected_at: 0 },
      { action: 'client_connected', node: N[0], clientid: on1.id, username: `u-${on1.id}`, ipaddress: '127.0.0.1', keepalive: 45, proto_ver: 4, connected_at: 0 },
    );
    assert.ok(connected.connected_at >= before - 1000 && connected.connected_at <= Date.now(), `connected_at ${connected.connected_at}`);
    const published = by('message_publish');
    assert.deepEqual(
      { ...published, ts: 0 },
      { action: 'message_publish', node: N[0], from_client_id: on1.id, from_username: `u-${on1.id}`, topic: on1.topic, qos: 1, retain: false, payload: 'from n1', ts: 0 },
    );
    assert.ok(published.ts >= connected.connected_at && published.ts <= Date.now(), `ts ${published.ts}`);
    assert.equal(by('client_disconnected').reason, 'normal');
    assert.equal(by('client_connect').node, N[0]);
    // every event of the default rules, once (nobody subscribed to the topic: its message was dropped)
    assert.deepEqual(got.map((b) => b.action).sort(), ['client_connack', 'client_connect', 'client_connected', 'client_disconnected', 'message_dropped', 'message_publish', 'session_terminated']);

    assert.deepEqual(about(on2.id), [], 'n2 has the URL but not the plugin loaded');
    assert.deepEqual(about(on3.id), [], 'n3 has neither');
    assert.deepEqual(
      hook!.bodies.filter((b) => b.node !== N[0]),
      [],
      'no body from another node',
    );
  });

  it("a message from another node delivered to n1's subscriber: n1 sends message_delivered and message_acked, n2 nothing", async () => {
    const subId = uid('wh-sub');
    const topic = `wh/d/${subId}`;
    const s = await connectClient(url('n1'), { clientId: subId, username: 'reader' });
    await s.subscribe(topic, { qos: 1 });
    const pubId = uid('wh-pub2');
    const p = await connectClient(url('n2'), { clientId: pubId, username: 'writer' });
    for (let i = 0; s.messages(topic).length === 0; i++) {
      assert.ok(i < 100, 'the subscriber on n1 got nothing');
      await p.publish(topic, `m${i}`, { qos: 1 });
      await sleep(20);
    }
    const payload = s.messages(topic)[0]!.payload;
    const mine = (action: string) => hook!.bodies.filter((b) => b.action === action && b.topic === topic && b.payload === payload);
    await eventually(() => assert.equal(mine('message_acked').length, 1));
    const delivered = mine('message_delivered');
    assert.equal(delivered.length, 1);
    const fields = { node: N[0], clientid: subId, username: 'reader', from_client_id: pubId, from_username: 'writer', topic, qos: 1, retain: false, payload };
    assert.deepEqual({ ...delivered[0], ts: 0 }, { action: 'message_delivered', ...fields, ts: 0 });
    assert.deepEqual({ ...mine('message_acked')[0], ts: 0 }, { action: 'message_acked', ...fields, ts: 0 });
    assert.deepEqual(mine('message_publish'), [], 'published on n2, which has no web hook loaded');
    assert.deepEqual(about(pubId).filter((b) => !b.action.startsWith('message_')), [], "nothing about n2's client itself");
    await s.end();
    await p.end();
  });

  it('a session taken over from n1 by n2, or discarded on n1: client_disconnected says why, no session_terminated (as EMQX)', async () => {
    const cases = [
      { id: uid('wh-take'), to: 'n2', clean: false, reason: 'takeovered' },
      { id: uid('wh-discard'), to: 'n1', clean: true, reason: 'discarded' },
    ];
    for (const k of cases) {
      const old = await connectClient(url('n1'), { clientId: k.id, clean: false });
      await old.subscribe(`wh/${k.id}`, { qos: 1 });
      const next = await connectClient(url(k.to), { clientId: k.id, clean: k.clean });
      await old.waitClose();
      await eventually(() => assert.ok(about(k.id).some((b) => b.action === 'client_disconnected'), JSON.stringify(about(k.id))));
      await next.end();
    }
    const probe = await connectClient(url('n1'), { clientId: uid('probe') });
    await settle(probe);
    await probe.end();
    for (const k of cases) {
      const got = about(k.id).filter((b) => b.node === N[0]);
      const disconnected = got.filter((b) => b.action === 'client_disconnected');
      assert.deepEqual(
        disconnected.map((b) => b.reason),
        k.to === 'n1' ? [k.reason, 'normal'] : [k.reason],
        JSON.stringify(got),
      );
      // the second connection ended normally on n1 (discard case): its session ends then
      assert.deepEqual(
        got.filter((b) => b.action === 'session_terminated').map((b) => b.reason),
        k.to === 'n1' ? ['normal'] : [],
        JSON.stringify(got),
      );
    }
  });

  it('reloaded on n1 while loaded: it goes on sending', async () => {
    ok(await put('n1', 'reload'), ['code']);
    assert.deepEqual(await activeOn(), [true, false, false]);
    const on1 = await visit('n1');
    await eventually(() => assert.ok(about(on1.id).some((b) => b.action === 'message_publish' && b.payload === 'from n1')));
  });

  it('unloaded on n1: no more requests', async () => {
    ok(await put('n1', 'unload'), ['code']);
    assert.deepEqual(await activeOn(), [false, false, false]);
    fails(await put('n1', 'unload'), 200, 111);
    const seen = hook!.bodies.length;
    const after1 = await visit('n1');
    const probe = await connectClient(url('n1'), { clientId: uid('probe') });
    await settle(probe);
    await probe.end();
    await sleep(100);
    assert.deepEqual(about(after1.id), []);
    assert.equal(hook!.bodies.length, seen, JSON.stringify(hook!.bodies.slice(seen)));
  });

  it('loading on a node without a URL answers 102 with the clear message and stays unloaded', async () => {
    const r = await put('n3', 'load');
    fails(r, 200, 102);
    assert.match(r.body.message, /emqx_web_hook needs a URL to send to: set webHookUrl \(STARLING_WEB_HOOK_URL\)/);
    assert.deepEqual(await activeOn(), [false, false, false]);
    // reload loads a plugin that is not loaded, and is refused the same way
    fails(await put('n3', 'reload'), 200, 102);
    assert.deepEqual(await activeOn(), [false, false, false]);
    assert.deepEqual(
      (await gc.c.store.configList('feature_states')).filter((x) => x.feature === 'web_hook' && x.scope === N[2]),
      [],
      'nothing kept for n3',
    );
    const seen = hook!.bodies.length;
    const on3 = await visit('n3');
    await sleep(200);
    assert.deepEqual(about(on3.id), []);
    assert.equal(hook!.bodies.length, seen);
  });

  it('loaded on n2 and restarted, it is loaded again and sends', async () => {
    ok(await put('n2', 'load'), ['code']);
    await gc.c.node('n2').stop();
    await gc.c.startNode('n2');
    await eventually(async () => assert.deepEqual(await activeOn(), [false, true, false]), 5000, 100);
    const on2 = await visit('n2');
    await eventually(() => assert.ok(about(on2.id).some((b) => b.action === 'message_publish' && b.node === N[1] && b.payload === 'from n2')));
    ok(await put('n2', 'unload'), ['code']);
  });
});
