/**
 * `$SYS` topics end to end, as EMQX 4 publishes them: broker version (retained), client
 * presence events with EMQX's JSON payloads, and the periodic stats, metrics and heartbeat.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startNode, type NodeProcess } from '../support/broker.js';
import { closeAllClients, connectClient, tcpUrl, uid, wsUrl, type Received, type TestClient } from '../support/mqtt-clients.js';

let node: NodeProcess;
let sys: string;

before(async () => {
  node = await startNode({ name: 'sys', env: { STARLING_SYS_INTERVAL_MS: '500', STARLING_SYS_HEARTBEAT_MS: '500' } });
  sys = `$SYS/brokers/${node.nodeName}`;
});

after(async () => {
  await closeAllClients();
  await node?.stop();
});

/** The first message on `topic` from index `from` on whose payload satisfies `pred`. */
function waitValue(c: TestClient, topic: string, pred: (payload: string) => boolean, from: number, timeoutMs = 4000): Promise<Received> {
  return c.waitForMessage((m) => m.topic === topic && pred(m.payload), { from, timeoutMs });
}

// First in the file: the connection count is exact only while no other test's clients exist.
test('stats and metrics are published every sys interval', async (t) => {
  const c = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('stats') }, t);
  const conns = `${sys}/stats/connections/count`;
  const qos2 = `${sys}/metrics/messages/qos2/received`;
  await c.subscribe([`${sys}/stats/#`, `${sys}/metrics/#`], { qos: 0 });

  // only this client is connected
  const one = await waitValue(c, conns, () => true, 0);
  assert.equal(one.payload, '1');
  assert.equal(one.retain, false);
  const before = Number((await waitValue(c, qos2, () => true, 0)).payload);
  assert.ok(Number.isInteger(before));

  // three more clients and three QoS 2 publishes show up in a later round
  const from = c.mark();
  const others = await Promise.all([0, 1, 2].map((i) => connectClient(i === 1 ? wsUrl(node.wsPort) : tcpUrl(node.mqttPort), { clientId: uid('stats') }, t)));
  for (let i = 0; i < 3; i++) await others[0]!.publish(`${uid('nobody')}/x`, 'x', { qos: 2 });
  await waitValue(c, conns, (p) => p === '4', from);
  await waitValue(c, qos2, (p) => Number(p) === before + 3, from);
  assert.equal(Number((await waitValue(c, `${sys}/stats/connections/max`, () => true, from)).payload) >= 4, true);

  // every stat has /count and /max, each a number
  const round = c.mark();
  await waitValue(c, conns, () => true, round);
  for (const name of ['connections', 'sessions', 'topics', 'subscriptions', 'subscriptions/shared', 'routes', 'retained']) {
    for (const kind of ['count', 'max']) {
      const m = await waitValue(c, `${sys}/stats/${name}/${kind}`, () => true, 0);
      assert.match(m.payload, /^\d+$/, `${name}/${kind}`);
    }
  }
  for (const name of ['messages/received', 'messages/sent', 'packets/connect/received', 'bytes/received', 'client/connected']) {
    assert.match((await waitValue(c, `${sys}/metrics/${name}`, () => true, 0)).payload, /^\d+$/, name);
  }
});

test('uptime and datetime every heartbeat', async (t) => {
  const c = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('hb') }, t);
  await c.subscribe([`${sys}/uptime`, `${sys}/datetime`], { qos: 0 });
  assert.match((await c.waitForMessage(`${sys}/uptime`, { timeoutMs: 3000 })).payload, /^(\d+ (days|hours|minutes|seconds)(, )?)+$/);
  assert.match((await c.waitForMessage(`${sys}/datetime`, { timeoutMs: 3000 })).payload, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
});

test('$SYS/brokers, version and sysdescr are retained', async (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const c = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('ver') }, t);
  await c.subscribe(['$SYS/brokers', `${sys}/version`, `${sys}/sysdescr`], { qos: 1 });
  await c.barrier();
  const got = Object.fromEntries(c.received.map((m) => [m.topic, [m.payload, m.retain, m.qos]]));
  assert.deepEqual(got['$SYS/brokers'], [node.nodeName, true, 0]);
  assert.deepEqual(got[`${sys}/version`], [pkg.version, true, 0]);
  const [descr, retained] = got[`${sys}/sysdescr`] as [string, boolean];
  assert.ok(descr.length > 0 && retained);
  assert.equal(c.received.length, 3);
});

const CONNECTED_KEYS = ['clean_start', 'clientid', 'connack', 'connected_at', 'expiry_interval', 'ipaddress', 'keepalive', 'proto_name', 'proto_ver', 'sockport', 'ts', 'username'];
const DISCONNECTED_KEYS = ['clientid', 'disconnected_at', 'reason', 'ts', 'username'];

test('presence: connected and disconnected events with EMQX fields (MQTT 3.1.1 over TCP)', async (t) => {
  const id = uid('pres');
  const watcher = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('watch') }, t);
  await watcher.subscribe(`${sys}/clients/${id}/+`, { qos: 0 });

  const t0 = Date.now();
  const c = await connectClient(tcpUrl(node.mqttPort), { clientId: id, username: 'alice', keepalive: 30, clean: true }, t);
  const cm = await watcher.waitForMessage(`${sys}/clients/${id}/connected`);
  assert.equal(cm.retain, false);
  assert.equal(cm.qos, 0);
  const conn = JSON.parse(cm.payload) as Record<string, unknown>;
  assert.deepEqual(Object.keys(conn).sort(), CONNECTED_KEYS);
  const t1 = Date.now();
  assert.deepEqual(
    { ...conn, ts: 0, connected_at: 0 },
    {
      username: 'alice',
      ts: 0,
      sockport: node.mqttPort,
      proto_ver: 4,
      proto_name: 'MQTT',
      keepalive: 30,
      ipaddress: '127.0.0.1',
      expiry_interval: 0,
      connected_at: 0,
      connack: 0,
      clientid: id,
      clean_start: true,
    },
  );
  // times are epoch milliseconds
  for (const k of ['ts', 'connected_at']) {
    const v = conn[k] as number;
    assert.ok(Number.isInteger(v) && v >= t0 && v <= t1, `${k}=${v} within [${t0}, ${t1}]`);
  }

  await c.end();
  const dm = await watcher.waitForMessage(`${sys}/clients/${id}/disconnected`);
  const disc = JSON.parse(dm.payload) as Record<string, unknown>;
  assert.deepEqual(Object.keys(disc).sort(), DISCONNECTED_KEYS);
  assert.deepEqual({ ...disc, ts: 0, disconnected_at: 0 }, { username: 'alice', ts: 0, reason: 'normal', disconnected_at: 0, clientid: id });
  for (const k of ['ts', 'disconnected_at']) {
    const v = disc[k] as number;
    assert.ok(Number.isInteger(v) && v >= (conn.connected_at as number) && v <= Date.now(), `${k}=${v}`);
  }
  await watcher.barrier();
  assert.equal(watcher.received.length, 2, 'one connected and one disconnected event');
});

test('presence: MQTT 3.1 over WebSocket with a persistent session', async (t) => {
  const id = uid('p31');
  const watcher = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('watch') }, t);
  await watcher.subscribe(`${sys}/clients/+/connected`, { qos: 0 });
  await connectClient(wsUrl(node.wsPort), { clientId: id, username: 'bob', protocolVersion: 3, protocolId: 'MQIsdp', clean: false, keepalive: 0 }, t);
  const conn = JSON.parse((await watcher.waitForMessage(`${sys}/clients/${id}/connected`)).payload) as Record<string, unknown>;
  assert.deepEqual(Object.keys(conn).sort(), CONNECTED_KEYS);
  assert.equal(conn.sockport, node.wsPort);
  assert.equal(conn.proto_ver, 3);
  assert.equal(conn.proto_name, 'MQIsdp');
  assert.equal(conn.clean_start, false);
  assert.equal(conn.keepalive, 0);
  assert.equal(conn.username, 'bob');
  assert.equal(typeof conn.expiry_interval, 'number');
  assert.ok((conn.expiry_interval as number) > 0, 'a persistent session expires later, not at once');
});

test('presence: a connection dropped without DISCONNECT is disconnected with reason tcp_closed', async (t) => {
  const id = uid('pdrop');
  const watcher = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('watch') }, t);
  await watcher.subscribe(`${sys}/clients/${id}/disconnected`, { qos: 0 });
  const c = await connectClient(tcpUrl(node.mqttPort), { clientId: id }, t);
  c.client.stream.destroy();
  const disc = JSON.parse((await watcher.waitForMessage(`${sys}/clients/${id}/disconnected`)).payload) as Record<string, unknown>;
  assert.deepEqual(Object.keys(disc).sort(), DISCONNECTED_KEYS);
  assert.equal(disc.clientid, id);
  assert.equal(disc.reason, 'tcp_closed', 'as EMQX names a socket closed without DISCONNECT');
});
