/**
 * node/rpc: every handler against a real in-process Broker with real MQTT.js clients
 * connected. Calls go through dispatchRpc with params and replies through JSON, as the
 * transports carry them.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../../node/broker.js';
import { dispatchRpc, rpcHandlers } from '../../node/rpc/index.js';
import { METRIC_NAMES, STAT_NAMES } from '../../shared/emqx-names.js';
import type { QoS } from '../../shared/message.js';
import { RpcError, type RpcHandlers, type RpcMethod, type RpcParams, type RpcReply } from '../../shared/rpc.js';
import { startInProcessBroker } from '../support/in-process.js';
import { closeAllClients, connectClient, sleep, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';

let broker: Broker;
let handlers: RpcHandlers;
let port: number;

before(async () => {
  ({ broker, port } = await startInProcessBroker('rpc-test@127.0.0.1'));
  handlers = rpcHandlers(broker, { 'session.takeover': () => null, 'session.conflict': () => ({ kept: false }) });
});

after(async () => {
  await closeAllClients();
  await broker?.stop();
});

async function call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcReply<M>> {
  const reply = await dispatchRpc(handlers, method, JSON.parse(JSON.stringify(params)));
  return JSON.parse(JSON.stringify(reply ?? null)) as RpcReply<M>;
}

const NO_PARAMS = {} as Record<string, never>;
const ALL = { offset: 0, limit: 1_000_000 };
const ids = (rows: { clientid: string }[]): string[] => rows.map((r) => r.clientid);

async function until(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

type Scope = { after(fn: () => unknown): void };
const connect = (t: Scope, clientId: string, opts: Parameters<typeof connectClient>[1] = {}): Promise<TestClient> =>
  connectClient(tcpUrl(port), { clientId, ...opts }, t);

describe('clients', () => {
  it('lists in session order with offset/limit, and counts, with and without a query', async (t) => {
    const base = uid('pg');
    const early: TestClient[] = [];
    for (let i = 0; i < 3; i++) early.push(await connect(t, `${base}-${i}`));
    // the second after which the later clients are created, for the created_at bounds
    const boundary = Math.floor(Date.now() / 1000) + 1;
    await sleep(boundary * 1000 - Date.now() + 10);
    for (let i = 3; i < 5; i++) await connect(t, `${base}-${i}`);
    const mine = [0, 1, 2, 3, 4].map((i) => `${base}-${i}`);

    // unfiltered: the node's whole order, our clients in the order they connected
    const all = ids(await call('clients.list', { query: {}, ...ALL }));
    assert.equal(all.length, broker.sessions.size);
    assert.deepEqual(
      all.filter((id) => id.startsWith(base)),
      mine,
    );
    assert.equal(await call('clients.count', { query: {} }), all.length);
    assert.deepEqual(ids(await call('clients.list', { query: {}, offset: 1, limit: 2 })), all.slice(1, 3));
    assert.deepEqual(ids(await call('clients.list', { query: {}, offset: all.length, limit: 2 })), []);
    assert.deepEqual(ids(await call('clients.list', { query: {}, offset: 0, limit: 0 })), []);

    // filtered: paging applies to the matching clients
    const q = { _like_clientid: base };
    assert.deepEqual(ids(await call('clients.list', { query: q, offset: 0, limit: 2 })), mine.slice(0, 2));
    assert.deepEqual(ids(await call('clients.list', { query: q, offset: 2, limit: 2 })), mine.slice(2, 4));
    assert.deepEqual(ids(await call('clients.list', { query: q, offset: 4, limit: 2 })), mine.slice(4));
    assert.deepEqual(ids(await call('clients.list', { query: q, offset: 5, limit: 2 })), []);
    assert.equal(await call('clients.count', { query: q }), 5);
    assert.equal(await call('clients.count', { query: { _like_clientid: `${base}-3` } }), 1);
    assert.equal(await call('clients.count', { query: { _like_clientid: `${base}-9` } }), 0);

    // created_at bounds in epoch seconds
    assert.deepEqual(ids(await call('clients.list', { query: { ...q, _gte_created_at: boundary }, ...ALL })), mine.slice(3));
    // seconds times 1000 against ms, as EMQX: the early clients, created during second boundary - 1, are after its start
    assert.deepEqual(ids(await call('clients.list', { query: { ...q, _lte_created_at: boundary }, ...ALL })), mine.slice(0, 3));
    const before = mine.filter((id) => broker.sessions.get(id)!.createdAt <= (boundary - 1) * 1000);
    assert.deepEqual(ids(await call('clients.list', { query: { ...q, _lte_created_at: boundary - 1 }, ...ALL })), before);
    assert.equal(await call('clients.count', { query: { ...q, _gte_created_at: boundary } }), 2);
    assert.equal(await call('clients.count', { query: { ...q, _gte_created_at: boundary + 3600 } }), 0);
    assert.equal(await call('clients.count', { query: { ...q, _gte_connected_at: boundary - 3600, _lte_connected_at: boundary + 3600 } }), 5);

    // conn_state: one persistent session goes offline
    const persistent = `${base}-p`;
    const p = await connect(t, persistent, { clean: false });
    assert.equal(await call('clients.count', { query: { ...q, conn_state: 'connected' } }), 6);
    await p.end();
    await until(() => broker.sessions.get(persistent)?.conn === undefined, 'the persistent session to go offline');
    assert.ok(broker.sessions.has(persistent), 'the session outlives its connection');
    assert.deepEqual(ids(await call('clients.list', { query: { ...q, conn_state: 'disconnected' }, ...ALL })), [persistent]);
    assert.equal(await call('clients.count', { query: { ...q, conn_state: 'connected' } }), 5);
    assert.equal(await call('clients.count', { query: { ...q, clean_start: false } }), 1);
    assert.equal(await call('clients.count', { query: { ...q, conn_state: 'idle' } }), 0);
    broker.kick(persistent);
  });

  it('get: every ClientRow field, with the types of the spec', async (t) => {
    const id = uid('get');
    const c = await connect(t, id, { username: `${id}-user`, keepalive: 30 });
    await c.subscribe(`${id}/a`, { qos: 1 });
    const row = await call('clients.get', { clientid: id });
    assert.ok(row);
    const strings = ['node', 'clientid', 'username', 'proto_name', 'ip_address', 'connected_at', 'zone', 'created_at'];
    const booleans = ['is_bridge', 'connected', 'clean_start'];
    const integers = [
      'proto_ver', 'port', 'keepalive', 'expiry_interval', 'subscriptions_cnt', 'max_subscriptions', 'inflight', 'max_inflight',
      'mqueue_len', 'max_mqueue', 'mqueue_dropped', 'awaiting_rel', 'max_awaiting_rel', 'recv_oct', 'recv_cnt', 'recv_pkt',
      'recv_msg', 'send_oct', 'send_cnt', 'send_pkt', 'send_msg', 'mailbox_len', 'heap_size', 'reductions',
    ];
    // connected: disconnected_at is left out, as EMQX does
    assert.deepEqual(Object.keys(row).sort(), [...strings, ...booleans, ...integers].sort());
    const rec = row as unknown as Record<string, unknown>;
    for (const k of strings) assert.equal(typeof rec[k], 'string', k);
    for (const k of booleans) assert.equal(typeof rec[k], 'boolean', k);
    for (const k of integers) assert.ok(Number.isInteger(rec[k]), `${k} = ${String(rec[k])}`);
    const datetime = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
    assert.match(row.connected_at, datetime);
    assert.match(row.created_at, datetime);
    assert.equal(row.node, 'rpc-test@127.0.0.1');
    assert.equal(row.clientid, id);
    assert.equal(row.username, `${id}-user`);
    assert.equal(row.proto_name, 'MQTT');
    assert.equal(row.proto_ver, 4);
    assert.equal(row.ip_address, '127.0.0.1');
    assert.equal(row.port, (c.client.stream as Socket).localPort);
    assert.equal(row.connected, true);
    assert.equal(row.clean_start, true);
    assert.equal(row.keepalive, 30);
    assert.equal(row.subscriptions_cnt, 1);
    assert.equal(row.zone, 'external');
    assert.ok(row.recv_pkt >= 2, 'CONNECT and SUBSCRIBE were received');

    assert.deepEqual(ids(await call('clients.byUsername', { username: `${id}-user` })), [id]);
    assert.deepEqual(await call('clients.byUsername', { username: `${id}-nobody` }), []);
    assert.equal(await call('clients.get', { clientid: `${id}-nobody` }), null);
    // an anonymous client's username is null
    const anon = await connect(t, `${id}-anon`);
    assert.equal((await call('clients.get', { clientid: anon.clientId }))!.username, null);
  });

  it('get: an offline persistent session has disconnected_at', async (t) => {
    const id = uid('off');
    const c = await connect(t, id, { clean: false });
    await c.end();
    await until(() => broker.sessions.get(id)?.conn === undefined, 'the session to go offline');
    const row = (await call('clients.get', { clientid: id }))!;
    assert.equal(row.connected, false);
    assert.match(row.disconnected_at!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.equal(row.clean_start, false);
    assert.ok(row.expiry_interval > 0);
    broker.kick(id);
  });

  it('kick disconnects the client and ends its session', async (t) => {
    const id = uid('kick');
    const c = await connect(t, id, { protocolVersion: 5 });
    assert.equal(await call('clients.kick', { clientid: id }), true);
    const d = await c.waitDisconnect();
    assert.equal(d.reasonCode, 0x98, 'Administrative action');
    await c.waitClose();
    assert.equal(await call('clients.get', { clientid: id }), null);
    assert.equal(await call('clients.kick', { clientid: id }), false);
  });

  it('aclCache and clearAclCache', async (t) => {
    const id = uid('acl');
    const c = await connect(t, id);
    await c.publish(`${id}/t`, 'x', { qos: 1 });
    const cache = await call('clients.aclCache', { clientid: id });
    assert.ok(Array.isArray(cache));
    for (const e of cache) {
      assert.deepEqual(Object.keys(e).sort(), ['access', 'result', 'topic', 'updated_time']);
      assert.ok(e.access === 'publish' || e.access === 'subscribe');
      assert.ok(e.result === 'allow' || e.result === 'deny');
      assert.ok(Number.isInteger(e.updated_time));
    }
    assert.equal(await call('clients.clearAclCache', { clientid: id }), true);
    assert.deepEqual(await call('clients.aclCache', { clientid: id }), []);
    assert.equal(await call('clients.aclCache', { clientid: `${id}-nobody` }), null);
    assert.equal(await call('clients.clearAclCache', { clientid: `${id}-nobody` }), false);
    assert.equal(await call('clients.clearAclCache', {}), true);
  });
});

describe('subscriptions and routes', () => {
  it('filters by each query field, pages and counts', async (t) => {
    const base = uid('sub');
    const group = `${base}g`;
    const a = await connect(t, `${base}-a`);
    const b = await connect(t, `${base}-b`);
    await a.subscribe(`${base}/x/+/c`, { qos: 1 });
    await a.subscribe(`$share/${group}/${base}/x/b`, { qos: 2 });
    await a.subscribe(`$queue/${base}/q/#`, { qos: 0 });
    await b.subscribe(`${base}/x/b/c`, { qos: 0 });
    await b.subscribe(`${base}/x/b`, { qos: 1 });

    const list = async (query: object, slice = ALL) => (await call('subscriptions.list', { query, ...slice })).map((r) => `${r.clientid.slice(base.length + 1)} ${r.topic.replace(group, 'G').replace(base, 'B')} ${r.qos}`);
    const count = (query: object) => call('subscriptions.count', { query });

    assert.deepEqual(await list({ clientid: a.clientId }), ['a B/x/+/c 1', 'a $share/G/B/x/b 2', 'a $queue/B/q/# 0']);
    assert.equal(await count({ clientid: a.clientId }), 3);
    assert.deepEqual(await list({ clientid: a.clientId }, { offset: 1, limit: 1 }), ['a $share/G/B/x/b 2']);
    assert.deepEqual(await list({ clientid: a.clientId }, { offset: 3, limit: 1 }), []);
    // as EMQX: `topic` is the topic without its share prefix
    assert.deepEqual(await list({ topic: `$share/${group}/${base}/x/b` }), []);
    assert.deepEqual(await list({ topic: `${base}/x/b` }), ['a $share/G/B/x/b 2', 'b B/x/b 1']);
    assert.deepEqual(await list({ clientid: b.clientId, qos: 0 }), ['b B/x/b/c 0']);
    assert.deepEqual(await list({ clientid: a.clientId, qos: 2 }), ['a $share/G/B/x/b 2']);
    assert.deepEqual(await list({ share: group }), ['a $share/G/B/x/b 2']);
    assert.deepEqual(await list({ share: '$queue', clientid: a.clientId }), ['a $queue/B/q/# 0']);
    // as EMQX: `_match_topic` is a filter over the subscribed topics
    assert.deepEqual(await list({ _match_topic: `${base}/x/+/c` }), ['a B/x/+/c 1', 'b B/x/b/c 0']);
    assert.deepEqual(await list({ _match_topic: `${base}/x/b` }), ['a $share/G/B/x/b 2', 'b B/x/b 1']);
    assert.deepEqual(await list({ _match_topic: `${base}/q/#` }), ['a $queue/B/q/# 0']);
    assert.deepEqual(await list({ _match_topic: `${base}/#` }).then((r) => r.length), 5);
    assert.equal(await count({ _match_topic: `${base}/x/+/c` }), 2);
    assert.equal(await count({ _match_topic: `${base}/nothing` }), 0);

    // unfiltered: everything on the node, counted and paged the same way
    const everything = await call('subscriptions.list', { query: {}, ...ALL });
    assert.equal(await count({}), everything.length);
    assert.equal(everything.filter((r) => r.clientid.startsWith(base)).length, 5);
    assert.deepEqual(await call('subscriptions.list', { query: {}, offset: 1, limit: 2 }), everything.slice(1, 3));
    for (const r of everything) assert.equal(r.node, 'rpc-test@127.0.0.1');
  });

  it('routes: one plain filter per route, shared groups without their prefix', async (t) => {
    const base = uid('rt');
    const a = await connect(t, `${base}-a`);
    const b = await connect(t, `${base}-b`);
    await a.subscribe(`${base}/plain/+`, { qos: 0 });
    await a.subscribe(`$share/g1/${base}/both`, { qos: 0 });
    await b.subscribe(`$share/g2/${base}/both`, { qos: 0 });
    await b.subscribe(`${base}/both`, { qos: 0 });
    await b.subscribe(`$queue/${base}/queued`, { qos: 0 });
    const routes = await call('routes.list', NO_PARAMS);
    const mine = routes.filter((r) => r.topic.startsWith(base)).map((r) => r.topic);
    assert.deepEqual(mine.sort(), [`${base}/both`, `${base}/plain/+`, `${base}/queued`]);
    for (const r of routes) {
      assert.deepEqual(Object.keys(r).sort(), ['node', 'topic']);
      assert.equal(r.node, 'rpc-test@127.0.0.1');
      assert.ok(!r.topic.startsWith('$share/') && !r.topic.startsWith('$queue/'), r.topic);
    }
    assert.equal(new Set(routes.map((r) => r.topic)).size, routes.length, 'no duplicates');
    await b.unsubscribe([`$share/g2/${base}/both`, `${base}/both`, `$queue/${base}/queued`]);
    await a.unsubscribe(`$share/g1/${base}/both`);
    const after = (await call('routes.list', NO_PARAMS)).map((r) => r.topic).filter((x) => x.startsWith(base));
    assert.deepEqual(after, [`${base}/plain/+`]);
  });

  it('routes: count, slices and lookups follow subscribe and unsubscribe', async (t) => {
    const base = uid('rs');
    const a = await connect(t, `${base}-a`);
    await a.subscribe([`${base}/1`, `${base}/2`, `${base}/3`], { qos: 0 });
    const all = await call('routes.list', NO_PARAMS);
    assert.equal(await call('routes.count', NO_PARAMS), all.length);
    assert.deepEqual(all.map((r) => r.topic), [...all.map((r) => r.topic)].sort());
    const at = all.findIndex((r) => r.topic === `${base}/1`);
    assert.deepEqual(await call('routes.list', { offset: at, limit: 2 }), all.slice(at, at + 2));
    assert.deepEqual(await call('routes.list', { offset: all.length, limit: 5 }), []);
    assert.deepEqual(await call('routes.lookup', { topic: `${base}/2` }), [{ topic: `${base}/2`, node: 'rpc-test@127.0.0.1' }]);
    assert.deepEqual(await call('routes.lookup', { topic: `${base}/+` }), []);
    await a.unsubscribe(`${base}/2`);
    assert.equal(await call('routes.count', NO_PARAMS), all.length - 1);
    assert.deepEqual(await call('routes.lookup', { topic: `${base}/2` }), []);
    await a.subscribe(`$share/g/${base}/2`, { qos: 0 });
    assert.deepEqual(await call('routes.lookup', { topic: `${base}/2` }), [{ topic: `${base}/2`, node: 'rpc-test@127.0.0.1' }]);
  });
});

describe('mqtt', () => {
  it('publish: a base64 payload at QoS 1 reaches a subscriber; the reply counts deliveries', async (t) => {
    const topic = uid('pub');
    const sub = await connect(t, `${topic}-sub`);
    await sub.subscribe(topic, { qos: 1 });
    const bytes = Buffer.from([0x68, 0xc3, 0xa9, 0x00, 0xff, 0x01]);
    const n = await call('mqtt.publish', { topic, payload: bytes.toString('base64'), qos: 1, retain: false, clientid: 'api-publisher' });
    assert.equal(n, 1);
    const m = await sub.waitForMessage(topic);
    assert.deepEqual(m.packet.payload, bytes);
    assert.equal(m.qos, 1);
    assert.equal(m.retain, false);
    assert.equal(await call('mqtt.publish', { topic: `${topic}/nobody`, payload: '', qos: 0, retain: false, clientid: 'api' }), 0);
  });

  it('publish: MQTT 5 properties from their API names, and retain', async (t) => {
    const topic = uid('props');
    const sub = await connect(t, `${topic}-sub`, { protocolVersion: 5 });
    await sub.subscribe(topic, { qos: 1 });
    await call('mqtt.publish', {
      topic,
      payload: Buffer.from('{"a":1}').toString('base64'),
      qos: 1,
      retain: true,
      clientid: 'api',
      properties: {
        payload_format_indicator: 1,
        message_expiry_interval: 60,
        response_topic: `${topic}/reply`,
        correlation_data: 'corr-1',
        user_properties: { id: '10010', name: 'emqx' },
        content_type: 'application/json',
      },
    });
    const m = await sub.waitForMessage(topic);
    assert.equal(m.payload, '{"a":1}');
    const p = m.packet.properties!;
    assert.equal(p.payloadFormatIndicator, true);
    assert.equal(p.contentType, 'application/json');
    assert.equal(p.responseTopic, `${topic}/reply`);
    assert.deepEqual(p.correlationData, Buffer.from('corr-1'));
    assert.deepEqual({ ...p.userProperties }, { id: '10010', name: 'emqx' });
    assert.ok(p.messageExpiryInterval! > 0 && p.messageExpiryInterval! <= 60, `expiry ${p.messageExpiryInterval}`);
    // retained: a later subscriber gets it with the retain flag
    const late = await connect(t, `${topic}-late`);
    await late.subscribe(topic, { qos: 1 });
    const r = await late.waitForMessage(topic);
    assert.equal(r.retain, true);
    assert.equal(r.payload, '{"a":1}');
    await call('mqtt.publish', { topic, payload: '', qos: 0, retain: true, clientid: 'api' }); // clears it
  });

  it('publish: an invalid topic is RpcError 115', async () => {
    await assert.rejects(call('mqtt.publish', { topic: 'a/+', payload: '', qos: 0, retain: false, clientid: 'api' }), (e: unknown) => e instanceof RpcError && e.code === 115);
    await assert.rejects(call('mqtt.publish', { topic: '', payload: '', qos: 0, retain: false, clientid: 'api' }), (e: unknown) => e instanceof RpcError && e.code === 115);
  });

  it('subscribe on behalf of a connected client: it receives messages and retained ones; unsubscribe stops them', async (t) => {
    const base = uid('apisub');
    const c = await connect(t, `${base}-c`);
    const pub = await connect(t, `${base}-pub`);
    await pub.publish(`${base}/r`, 'kept', { qos: 1, retain: true });

    assert.equal(await call('mqtt.subscribe', { clientid: c.clientId, topic: `${base}/+`, qos: 1 }), 1);
    const retained = await c.waitForMessage(`${base}/r`);
    assert.equal(retained.payload, 'kept');
    assert.equal(retained.retain, true);
    const from = c.mark();
    await pub.publish(`${base}/live`, 'hello', { qos: 1 });
    const live = await c.waitForMessage(`${base}/live`, { from });
    assert.equal(live.payload, 'hello');
    assert.equal(live.qos, 1);
    assert.deepEqual(
      (await call('subscriptions.list', { query: { clientid: c.clientId }, ...ALL })).map((r) => [r.topic, r.qos]),
      [[`${base}/+`, 1]],
    );

    assert.equal(await call('mqtt.unsubscribe', { clientid: c.clientId, topic: `${base}/+` }), 0);
    const mark = c.mark();
    await pub.publish(`${base}/live`, 'gone', { qos: 1 });
    await c.barrier(); // anything routed to c before this has arrived
    assert.deepEqual(c.messages((m) => m.payload === 'gone'), []);
    assert.equal(c.received.length - mark, 0);
    assert.equal(await call('mqtt.unsubscribe', { clientid: c.clientId, topic: `${base}/+` }), 0x11, 'No subscription existed');
    await pub.publish(`${base}/r`, '', { qos: 1, retain: true });
  });

  it('subscribe and unsubscribe: null for a client not on this node, reason codes for bad filters', async (t) => {
    const id = uid('nosuch');
    assert.equal(await call('mqtt.subscribe', { clientid: id, topic: 'a', qos: 0 }), null);
    assert.equal(await call('mqtt.unsubscribe', { clientid: id, topic: 'a' }), null);
    const c = await connect(t, id);
    assert.equal(await call('mqtt.subscribe', { clientid: id, topic: 'a/#/b', qos: 0 }), 0x8f);
    assert.equal(await call('mqtt.unsubscribe', { clientid: id, topic: 'a/#/b' }), 0x8f);
    assert.equal(await call('mqtt.subscribe', { clientid: id, topic: `$share/g/${id}`, qos: 2 }), 2);
    assert.equal(await call('subscriptions.count', { query: { clientid: c.clientId } }), 1);
    await assert.rejects(call('mqtt.subscribe', { clientid: id, topic: 'a', qos: 3 as QoS }), (e: unknown) => e instanceof RpcError && e.code === 108);
  });
});

describe('node information', () => {
  it('brokers.get and nodes.get', async () => {
    const b = await call('brokers.get', NO_PARAMS);
    assert.deepEqual(Object.keys(b).sort(), ['datetime', 'node', 'node_status', 'otp_release', 'sysdescr', 'uptime', 'version']);
    for (const v of Object.values(b)) assert.equal(typeof v, 'string');
    assert.equal(b.node, 'rpc-test@127.0.0.1');
    assert.equal(b.node_status, 'Running');
    assert.match(b.uptime, /seconds$/);
    const n = await call('nodes.get', NO_PARAMS);
    const strings = ['version', 'uptime', 'otp_release', 'node_status', 'node', 'load1', 'load5', 'load15', 'memory_used', 'memory_total'];
    const numbers = ['process_used', 'process_available', 'max_fds', 'connections'];
    assert.deepEqual(Object.keys(n).sort(), [...strings, ...numbers].sort());
    const rec = n as unknown as Record<string, unknown>;
    for (const k of strings) assert.equal(typeof rec[k], 'string', k);
    for (const k of numbers) assert.equal(typeof rec[k], 'number', k);
    assert.equal(n.connections, broker.connections.size);
    assert.match(n.memory_total, /^\d+\.\d\d[KMG]$/, 'EMQX formats memory as "96.75M"');
  });

  it('metrics.get: every metric, numbers', async (t) => {
    const m = await call('metrics.get', NO_PARAMS);
    assert.deepEqual(Object.keys(m).sort(), [...METRIC_NAMES].sort());
    for (const [k, v] of Object.entries(m)) assert.ok(Number.isInteger(v), `${k} = ${String(v)}`);
    const before = m['messages.publish'];
    await call('mqtt.publish', { topic: uid('metric'), payload: '', qos: 0, retain: false, clientid: 'api' });
    assert.equal((await call('metrics.get', NO_PARAMS))['messages.publish'], before + 1);
    void t;
  });

  it('stats.get: <name>.count and <name>.max for every stat', async (t) => {
    const id = uid('stats');
    await connect(t, id);
    const s = await call('stats.get', NO_PARAMS);
    assert.deepEqual(Object.keys(s).sort(), STAT_NAMES.flatMap((n) => [`${n}.count`, `${n}.max`]).sort());
    for (const [k, v] of Object.entries(s)) assert.ok(Number.isInteger(v), `${k} = ${String(v)}`);
    assert.equal(s['connections.count'], broker.connections.size);
    assert.equal(s['sessions.count'], broker.sessions.size);
    assert.ok(s['connections.max']! >= s['connections.count']!);
  });

  it('listeners.list: the TCP listener as EMQX shows it', async (t) => {
    await connect(t, uid('lst'));
    const ls = await call('listeners.list', NO_PARAMS);
    assert.equal(ls.length, 1, 'WebSocket is off in this test');
    const l = ls[0]!;
    assert.deepEqual(Object.keys(l).sort(), ['acceptors', 'current_conns', 'listen_on', 'max_conns', 'protocol', 'shutdown_count']);
    assert.equal(l.protocol, 'mqtt:tcp');
    assert.equal(l.listen_on, `127.0.0.1:${port}`);
    assert.ok(Number.isInteger(l.acceptors) && Number.isInteger(l.max_conns));
    assert.ok(l.current_conns >= 1);
    assert.ok(Array.isArray(l.shutdown_count) ? l.shutdown_count.length === 0 : Object.values(l.shutdown_count).every(Number.isInteger));
  });
});

describe('dispatchRpc', () => {
  it('an unknown method is RpcError 404, prototype names included', async () => {
    for (const method of ['no.such', 'toString', '__proto__', 'constructor']) {
      await assert.rejects(dispatchRpc(handlers, method, {}), (e: unknown) => e instanceof RpcError && e.code === 404 && e.message.includes(method), method);
    }
  });

  it('params not of the method shape are RpcError 108 naming the parameter, before any handler runs', async () => {
    let ran = 0;
    const h: RpcHandlers = { ...handlers, 'clients.kick': () => (ran++, false), 'clients.list': () => (ran++, []) };
    const bad: [string, unknown, string][] = [
      ['clients.kick', {}, 'clientid'],
      ['clients.kick', { clientid: 7 }, 'clientid'],
      ['clients.kick', { clientid: 'x', extra: 1 }, 'extra'],
      ['clients.kick', null, 'clientid'],
      ['clients.kick', [], 'params'],
      ['clients.list', { query: {}, offset: 0 }, 'limit'],
      ['clients.list', { query: { conn_state: 'asleep' }, offset: 0, limit: 1 }, 'query.conn_state'],
      ['clients.list', { query: { proto_ver: '4' }, offset: 0, limit: 1 }, 'query.proto_ver'],
      ['clients.list', { query: { nosuch: 1 }, offset: 0, limit: 1 }, 'query.nosuch'],
      ['clients.list', { query: 'x', offset: 0, limit: 1 }, 'query'],
    ];
    for (const [method, params, name] of bad) {
      await assert.rejects(
        dispatchRpc(h, method, params),
        (e: unknown) => e instanceof RpcError && e.code === 108 && e.message.includes(name),
        `${method} ${JSON.stringify(params)}`,
      );
    }
    await assert.rejects(
      dispatchRpc(h, 'mqtt.publish', { topic: 't', payload: '', qos: 0, retain: false, clientid: 'api', properties: { user_properties: { a: [] } } }),
      (e: unknown) => e instanceof RpcError && e.code === 108 && e.message.includes('properties.user_properties.a'),
    );
    assert.equal(ran, 0);
    // optional fields may be left out
    assert.equal(await dispatchRpc(h, 'clients.clearAclCache', {}), true);
  });

  it('passes a handler error through unchanged', async () => {
    const boom = new RpcError(112, 'client offline');
    const h: RpcHandlers = { ...handlers, 'clients.kick': () => Promise.reject(boom) };
    await assert.rejects(dispatchRpc(h, 'clients.kick', { clientid: 'x' }), (e: unknown) => e === boom);
  });

  it('a method without params gets {} when none came', async () => {
    const b = (await dispatchRpc(handlers, 'brokers.get', undefined)) as { node: string };
    assert.equal(b.node, 'rpc-test@127.0.0.1');
  });
});
