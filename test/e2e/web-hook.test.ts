/**
 * emqx_web_hook on a standalone node, with a local HTTP server this test runs: real MQTT
 * clients connect, subscribe, publish and disconnect; the server receives EMQX's bodies for
 * the configured rules only, over at most pool-size connections; a dead or slow server
 * leaves MQTT serving; unloaded, nothing is sent. The node's own plugin is switched through
 * its feature registry, as the API switches it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebHookPlugin } from '../../node/features/web-hook/index.js';
import { closeHookServer, startHookServer, type HookServer } from '../support/hook-server.js';
import { closeAllClients, connectClient, sleep, tcpUrl, uid } from '../support/mqtt-clients.js';
import { startStandalone, type Standalone } from '../support/standalone.js';
import { eventually } from '../support/wait.js';

let node: Standalone;
let hook: HookServer;
/** the node's own plugin, as its registry lists it */
let plugin: WebHookPlugin;

const RULES = [
  { event: 'client.connect', action: 'on_client_connect' },
  { event: 'client.connack' },
  { event: 'client.connected', action: 'on_client_connected' },
  { event: 'client.disconnected', action: 'on_client_disconnected' },
  { event: 'client.subscribe', topic: 'wh/#' },
  { event: 'client.unsubscribe', topic: 'wh/#' },
  { event: 'session.subscribed', action: 'on_session_subscribed', topic: 'wh/#' },
  { event: 'session.terminated' },
  { event: 'message.publish', action: 'on_message_publish', topic: 'wh/#' },
];

before(async () => {
  hook = await startHookServer();
  node = await startStandalone({
    STARLING_WEB_HOOK_URL: hook.url,
    STARLING_WEB_HOOK_HEADERS: JSON.stringify({ 'x-token': 'secret' }),
    STARLING_WEB_HOOK_RULES: JSON.stringify(RULES),
    STARLING_WEB_HOOK_POOL_SIZE: '4',
  });
  plugin = node.broker.features.find('plugin', 'emqx_web_hook')!.switches.feature as WebHookPlugin;
  assert.equal(plugin.active, false, 'unloaded by default, as EMQX');
});

after(async () => {
  if (plugin?.active) await unload();
  await closeAllClients();
  await node?.stop();
  await closeHookServer(hook);
});

/** The switches as the API makes them (PUT /nodes/{node}/plugins/emqx_web_hook/load|unload). */
async function load(): Promise<void> {
  assert.deepEqual(await node.broker.features.switch('plugin', 'emqx_web_hook', 'load'), { code: 0, changed: true });
}
async function unload(): Promise<void> {
  assert.deepEqual(await node.broker.features.switch('plugin', 'emqx_web_hook', 'unload'), { code: 0, changed: true });
}

/** The bodies about one client (by clientid or publisher), in arrival order. */
const about = (id: string) => hook.bodies.filter((b) => b.clientid === id || b.from_client_id === id);

test('loading without a URL is refused with a clear message', async () => {
  const url = node.broker.cfg.webHookUrl;
  node.broker.cfg.webHookUrl = undefined;
  try {
    const r = await node.broker.features.switch('plugin', 'emqx_web_hook', 'load');
    assert.equal(r.code, 102);
    assert.ok('message' in r);
    assert.match(r.message, /emqx_web_hook needs a URL.*STARLING_WEB_HOOK_URL/);
    assert.equal(plugin.active, false);
  } finally {
    node.broker.cfg.webHookUrl = url;
  }
});

test('the server receives the EMQX bodies of the configured events only', async (t) => {
  await load();
  const id = uid('wh');
  const c = await connectClient(tcpUrl(node.mqttPort), { clientId: id, username: 'u1', keepalive: 30 }, t);
  await c.subscribe(['wh/a', 'other/b'], { qos: 1 });
  await c.publish('wh/a', 'hello', { qos: 1, retain: false });
  await c.publish('other/b', 'skipped', { qos: 1 });
  await c.waitForMessages(2);
  await c.unsubscribe(['wh/a', 'other/b']);
  await c.end();
  const want = ['client_connect', 'client_connack', 'client_connected', 'client_subscribe', 'session_subscribed', 'message_publish', 'client_unsubscribe', 'client_disconnected', 'session_terminated'];
  await eventually(() => assert.equal(about(id).length, want.length));
  await sleep(100); // anything else still on its way
  // one request each, over several connections: they may arrive in any order
  const got = about(id);
  assert.deepEqual(got.map((b) => b.action).sort(), [...want].sort());
  const one = (action: string) => got.find((b) => b.action === action)!;
  const [conn, sub, pub, disc] = ['client_connected', 'session_subscribed', 'message_publish', 'client_disconnected'].map(one);
  const node1 = node.broker.nodeName;
  assert.deepEqual(one('client_connect'), { action: 'client_connect', node: node1, clientid: id, username: 'u1', ipaddress: '127.0.0.1', keepalive: 30, proto_ver: 4 });
  assert.deepEqual(one('client_connack'), { ...one('client_connect'), action: 'client_connack', conn_ack: 'success', connected_at: one('client_connected').connected_at });
  assert.deepEqual(one('client_subscribe'), { action: 'client_subscribe', node: node1, clientid: id, username: 'u1', topic: 'wh/a', opts: { qos: 1, nl: 0, rap: 0, rh: 0 } });
  assert.deepEqual(one('client_unsubscribe'), { action: 'client_unsubscribe', node: node1, clientid: id, username: 'u1', topic: 'wh/a', opts: {} });
  assert.deepEqual(one('session_terminated'), { action: 'session_terminated', node: node1, clientid: id, username: 'u1', reason: 'normal' });
  assert.deepEqual({ ...conn, connected_at: 0 }, { action: 'client_connected', node: node1, clientid: id, username: 'u1', ipaddress: '127.0.0.1', keepalive: 30, proto_ver: 4, connected_at: 0 });
  assert.ok(Math.abs(conn!.connected_at - Date.now()) < 10_000);
  assert.deepEqual(sub, { action: 'session_subscribed', node: node1, clientid: id, username: 'u1', topic: 'wh/a', opts: { qos: 1, nl: 0, rap: 0, rh: 0, is_new: true } });
  assert.deepEqual({ ...pub, ts: 0 }, { action: 'message_publish', node: node1, from_client_id: id, from_username: 'u1', topic: 'wh/a', qos: 1, retain: false, payload: 'hello', ts: 0 });
  assert.equal(disc!.reason, 'normal');
  assert.equal(disc!.connected_at, conn!.connected_at);
  assert.equal(hook.headers.at(-1)!['x-token'], 'secret');
  assert.equal(hook.headers.at(-1)!['content-type'], 'application/json');
  await unload();
});

test('base64 payloads; a burst reuses at most pool-size connections', async (t) => {
  node.broker.cfg.webHookEncoding = 'base64';
  t.after(() => (node.broker.cfg.webHookEncoding = 'plain'));
  await load();
  t.after(() => unload());
  const before = hook.connections;
  const id = uid('wh-burst');
  const c = await connectClient(tcpUrl(node.mqttPort), { clientId: id }, t);
  const N = 400;
  await Promise.all(Array.from({ length: N }, (_, i) => c.publish(`wh/burst/${i}`, `p${i}`, { qos: 0 })));
  await c.barrier();
  await eventually(() => assert.equal(about(id).filter((b) => b.action === 'message_publish').length, N), 15_000);
  const bodies = about(id).filter((b) => b.action === 'message_publish');
  assert.deepEqual(bodies.map((b) => Buffer.from(b.payload, 'base64').toString()).sort(), Array.from({ length: N }, (_, i) => `p${i}`).sort());
  const opened = hook.connections - before;
  assert.ok(opened >= 1 && opened <= 4, `${opened} connections for ${N} requests (pool size 4)`);
  assert.equal(plugin.counts!.dropped, 0);
});

test('a slow server: events past the queue bound are dropped and counted, MQTT keeps serving', async (t) => {
  node.broker.cfg.webHookMaxQueue = 10;
  t.after(() => (node.broker.cfg.webHookMaxQueue = 10000));
  // the held requests must not time out (and make room for others) however slow the machine is
  const timeout = node.broker.cfg.webHookTimeoutMs;
  node.broker.cfg.webHookTimeoutMs = 120_000;
  t.after(() => (node.broker.cfg.webHookTimeoutMs = timeout));
  hook.answer = false;
  t.after(() => {
    hook.answer = true;
    for (const r of hook.held.splice(0)) r.end('late');
  });
  await load();
  t.after(() => unload());
  const id = uid('wh-slow');
  const c = await connectClient(tcpUrl(node.mqttPort), { clientId: id }, t);
  await c.subscribe('wh/slow', { qos: 1 });
  for (let i = 0; i < 100; i++) await c.publish('wh/slow', `s${i}`, { qos: 1 });
  await c.waitForMessages(100);
  await eventually(() => assert.equal(hook.held.length, 4));
  // 105 events (connect, connack, connected, client and session subscribe, 100 publishes): 4 in flight, 10 waiting, the rest dropped
  assert.equal(plugin.counts!.dropped, 105 - 14);
});

test('the server down: MQTT keeps serving, failures are counted; unloaded, nothing is sent', async (t) => {
  const down = await startHookServer();
  await closeHookServer(down);
  const url = node.broker.cfg.webHookUrl;
  node.broker.cfg.webHookUrl = down.url;
  t.after(() => (node.broker.cfg.webHookUrl = url));
  const hooks = ['clientConnect', 'clientConnack', 'clientConnected', 'clientDisconnected', 'clientSubscribe', 'clientUnsubscribe', 'sessionSubscribed', 'sessionTerminated', 'messagePublish'] as const;
  const listeners = hooks.map((h) => node.broker.hooks[h].listenerCount);
  await load();
  assert.deepEqual(hooks.map((h) => node.broker.hooks[h].listenerCount), listeners.map((n) => n + 1));
  const id = uid('wh-down');
  const c = await connectClient(tcpUrl(node.mqttPort), { clientId: id }, t);
  await c.subscribe('wh/down', { qos: 1 });
  for (let i = 0; i < 20; i++) await c.publish('wh/down', `d${i}`, { qos: 1 });
  await c.waitForMessages(20);
  await eventually(() => assert.ok(plugin.counts!.failed >= 20, `failed ${plugin.counts!.failed}`));
  await unload();
  assert.equal(plugin.active, false);
  // unloaded: the live server gets nothing about a new client
  node.broker.cfg.webHookUrl = url;
  const seen = hook.bodies.length;
  const id2 = uid('wh-off');
  const c2 = await connectClient(tcpUrl(node.mqttPort), { clientId: id2 }, t);
  await c2.publish('wh/off', 'x', { qos: 1 });
  await c2.end();
  await sleep(200);
  assert.equal(hook.bodies.length, seen);
  // every listener it attached is gone (presence keeps its own)
  assert.deepEqual(hooks.map((h) => node.broker.hooks[h].listenerCount), listeners);
  assert.equal(node.broker.hooks.messagePublish.active, false);
});
