// The v3 REST API against v4 on the same state (a real gateway over a real three-node
// cluster with real MQTT clients): the same clients, sessions, subscriptions, metrics,
// stats and bans under v3's names; v3's paging meta; v3's errors, a node down included.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, fullName, RPC_TIMEOUT_MS, startCluster, type TestCluster } from '../support/cluster.js';
import { api, fails, ok, startGateway, type ApiAnswer, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, RawClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';

let c: TestCluster;
let gw: GatewayProcess;
const [N1, N2, N3] = ['n1', 'n2', 'n3'].map(fullName) as [string, string, string];
const enc = encodeURIComponent;
const v3 = (method: string, path: string, body?: unknown): Promise<ApiAnswer> => api(gw.url, method, `/api/v3${path}`, { body });
const v4 = (method: string, path: string, body?: unknown): Promise<ApiAnswer> => api(gw.url, method, `/api/v4${path}`, { body });
type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let a: TestClient; // n1, username, will, subscribed
let b: TestClient; // n2, clean start 0
let offlineId: string; // n3, clean start 0, disconnected, subscribed at QoS 1

before(async () => {
  c = await startCluster(['n1', 'n2', 'n3'], { STARLING_AWAIT_REL_TIMEOUT_MS: '500' });
  gw = await startGateway(c);
  a = await connectClient(tcpUrl(c.node('n1').mqttPort), { clientId: uid('par-a'), username: 'user-a', keepalive: 45, will: { topic: 'will/a', payload: Buffer.from('x'), qos: 1, retain: false } });
  await a.subscribe('par/a', { qos: 1 });
  await a.subscribe('par/+/x', { qos: 2 });
  b = await connectClient(tcpUrl(c.node('n2').mqttPort), { clientId: uid('par-b'), clean: false });
  await b.subscribe('par/b', { qos: 0 });
  offlineId = uid('par-off');
  const off = await connectClient(tcpUrl(c.node('n3').mqttPort), { clientId: offlineId, clean: false });
  await off.subscribe('par/off', { qos: 1 });
  await off.end();
  // two messages queue for the offline session
  await a.publish('par/off', 'one', { qos: 1 });
  await a.publish('par/off', 'two', { qos: 1 });
});

after(async () => {
  await closeAllClients();
  await gw?.stop();
  await c?.stop();
});

const byId = (rows: Row[], key: string): Map<string, Row> => new Map(rows.map((r) => [r[key] as string, r]));

describe('the same clients as v4', () => {
  it('connections are v4’s connected clients, field by field', async () => {
    const v3r = await v3('GET', '/connections/');
    ok(v3r, ['code', 'data', 'meta']);
    const v4r = await v4('GET', '/clients?conn_state=connected');
    const four = byId(v4r.body.data, 'clientid');
    assert.deepEqual(v3r.body.data.map((r: Row) => [r.node, r.client_id]), v4r.body.data.map((r: Row) => [r.node, r.clientid]));
    for (const r of v3r.body.data as Row[]) {
      const v = four.get(r.client_id)!;
      assert.deepEqual(
        [r.node, r.ipaddress, r.port, r.clean_start, r.keepalive, r.proto_name, r.proto_ver, r.connected_at, r.zone, r.is_bridge],
        [v.node, v.ip_address, v.port, v.clean_start, v.keepalive, v.proto_name, v.proto_ver, v.connected_at, v.zone, v.is_bridge],
      );
      assert.equal(r.username, v.username ?? 'undefined');
      assert.equal(r.peercert, 'nossl');
      assert.equal(r.is_super, false);
      assert.equal(r.mountpoint, 'undefined');
    }
    const ra = v3r.body.data.find((r: Row) => r.client_id === a.clientId);
    assert.deepEqual([ra.username, ra.will_topic, ra.keepalive, ra.node], ['user-a', 'will/a', 45, N1]);
    const rb = v3r.body.data.find((r: Row) => r.client_id === b.clientId);
    assert.deepEqual([rb.username, rb.will_topic, rb.clean_start], ['undefined', 'undefined', false]);
    assert.equal(v3r.body.data.some((r: Row) => r.client_id === offlineId), false, 'a session without a connection is no connection');
  });

  it('sessions are v4’s clients, connected or not, with v3’s session fields', async () => {
    const v3r = await v3('GET', '/sessions/');
    const v4r = await v4('GET', '/clients');
    assert.deepEqual(v3r.body.data.map((r: Row) => [r.node, r.client_id]), v4r.body.data.map((r: Row) => [r.node, r.clientid]));
    const four = byId(v4r.body.data, 'clientid');
    for (const r of v3r.body.data as Row[]) {
      const v = four.get(r.client_id)!;
      assert.deepEqual(
        [r.subscriptions_count, r.inflight_len, r.max_inflight, r.mqueue_len, r.mqueue_dropped, r.max_mqueue, r.awaiting_rel_len, r.max_awaiting_rel, r.created_at, r.expiry_interval, r.clean_start, r.max_subscriptions, r.deliver_msg],
        [v.subscriptions_cnt, v.inflight, v.max_inflight, v.mqueue_len, v.mqueue_dropped, v.max_mqueue, v.awaiting_rel, v.max_awaiting_rel, v.created_at, v.expiry_interval, v.clean_start, v.max_subscriptions, v.send_msg],
      );
      assert.equal(r.binding, 'local');
    }
    const off = v3r.body.data.find((r: Row) => r.client_id === offlineId);
    assert.deepEqual([off.node, off.subscriptions_count, off.mqueue_len, off.enqueue_msg], [N3, 1, 2, 2]);
    assert.equal(v3r.body.data.find((r: Row) => r.client_id === a.clientId).subscriptions_count, 2);
  });

  it('lookups: cluster-wide and on the client’s node; on another node, or unknown, an empty list', async () => {
    for (const path of [`/connections/${enc(a.clientId)}`, `/nodes/${enc(N1)}/connections/${enc(a.clientId)}`, `/sessions/${enc(a.clientId)}`, `/nodes/${enc(N1)}/sessions/${enc(a.clientId)}`]) {
      const r = await v3('GET', path);
      ok(r);
      assert.deepEqual(r.body.data.map((x: Row) => [x.client_id, x.node]), [[a.clientId, N1]], path);
    }
    for (const path of [`/nodes/${enc(N2)}/connections/${enc(a.clientId)}`, `/sessions/nobody-${uid()}`, `/connections/nobody-${uid()}`]) {
      assert.deepEqual((await v3('GET', path)).body, { code: 0, data: [] }, path);
    }
  });

  it('per-node lists hold that node’s rows only', async () => {
    const r = await v3('GET', `/nodes/${enc(N3)}/sessions/`);
    assert.deepEqual(r.body.data.map((x: Row) => x.client_id), [offlineId]);
    assert.deepEqual(r.body.meta, { page: 1, limit: 10000, count: 1 });
    assert.deepEqual((await v3('GET', `/nodes/${enc(N3)}/connections/`)).body, { code: 0, data: [], meta: { page: 1, limit: 10000, count: 0 } });
  });
});

describe('the same subscriptions as v4', () => {
  it('cluster, per node, by client, per node by client: v4’s rows with client_id', async () => {
    const rename = (rows: Row[]): Row[] => rows.map((r) => ({ client_id: r.clientid, node: r.node, qos: r.qos, topic: r.topic }));
    for (const [three, four] of [
      ['/subscriptions/', '/subscriptions'],
      [`/nodes/${enc(N1)}/subscriptions/`, `/nodes/${enc(N1)}/subscriptions`],
      [`/subscriptions/${enc(a.clientId)}`, `/subscriptions/${enc(a.clientId)}`],
      [`/nodes/${enc(N3)}/subscriptions/${enc(offlineId)}`, `/nodes/${enc(N3)}/subscriptions/${enc(offlineId)}`],
    ]) {
      const r3 = await v3('GET', three!);
      assert.deepEqual(r3.body.data, rename((await v4('GET', four!)).body.data), three);
    }
    const mine = (await v3('GET', `/subscriptions/${enc(a.clientId)}`)).body.data;
    assert.deepEqual(mine.map((r: Row) => [r.topic, r.qos]).sort(), [['par/+/x', 2], ['par/a', 1]]);
  });

  it('POST /mqtt/subscribe and /unsubscribe with client_id act on the client, as v4 sees it; publish with client_id reaches it', async () => {
    const topic = `par/api/${uid()}`;
    ok(await v3('POST', '/mqtt/subscribe', { topic, qos: 1, client_id: b.clientId }), ['code']);
    const subs = (await v4('GET', `/subscriptions/${enc(b.clientId)}`)).body.data;
    assert.ok(subs.some((s: Row) => s.topic === topic && s.qos === 1), JSON.stringify(subs));
    const from = b.mark();
    ok(await v3('POST', '/mqtt/publish', { topic, payload: 'via v3', qos: 1, retain: false, client_id: a.clientId }), ['code']);
    const m = await b.waitForMessage(topic, { from });
    assert.equal(m.payload.toString(), 'via v3');
    ok(await v3('POST', '/mqtt/unsubscribe', { topic, client_id: b.clientId }), ['code']);
    const after = (await v4('GET', `/subscriptions/${enc(b.clientId)}`)).body.data;
    assert.ok(!after.some((s: Row) => s.topic === topic));
  });

  it('routes: v4’s rows, v3 meta', async () => {
    const r3 = await v3('GET', '/routes/');
    const r4 = await v4('GET', '/routes');
    assert.deepEqual(r3.body.data, r4.body.data);
    assert.deepEqual(r3.body.meta, { page: 1, limit: 10000, count: r4.body.meta.count });
    assert.deepEqual((await v3('GET', `/routes/${enc('par/a')}`)).body.data, [{ topic: 'par/a', node: N1 }]);
  });
});

/** v3's metric names and the v4 counter each reads (a sample of the mapping, renamed ones included). */
const METRIC_PAIRS: [string, string][] = [
  ['packets/connect', 'packets.connect.received'],
  ['packets/connack', 'packets.connack.sent'],
  ['packets/subscribe', 'packets.subscribe.received'],
  ['packets/suback', 'packets.suback.sent'],
  ['packets/publish/received', 'packets.publish.received'],
  ['messages/qos1/received', 'messages.qos1.received'],
  ['messages/received', 'messages.received'],
  ['bytes/received', 'bytes.received'],
  ['messages/retained', 'messages.retained'],
];

describe('the same metrics and stats as v4', () => {
  it('metrics: one {node, metrics} per node, each v3 name the v4 counter', async () => {
    // read v3, v4, v3 again until nothing moved in between (keepalives and $SYS count too)
    const [r3, r4] = await eventually(async () => {
      const three = await v3('GET', '/metrics/');
      const four = await v4('GET', `/nodes/${enc(N1)}/metrics`);
      const again = await v3('GET', '/metrics/');
      assert.deepEqual(three.body, again.body, 'quiet');
      return [three, four] as const;
    }, 10000);
    ok(r3);
    assert.deepEqual(r3.body.data.map((n: Row) => n.node), [N1, N2, N3]);
    const n1 = r3.body.data[0].metrics;
    // CONNECTs: client a and the one publishing a retained message below; connack per connect
    assert.ok(n1['packets/connect'] >= 1);
    assert.equal(n1['packets/connack'], n1['packets/connect']);
    assert.equal(n1['packets/subscribe'], 2, 'a subscribed twice on n1');
    assert.equal(n1['messages/qos1/received'], 2, 'a published twice at QoS 1');
    ok(r4);
    for (const [three, four] of METRIC_PAIRS) assert.equal(n1[three], r4.body.data[four], `${three} = ${four}`);
    const node = await v3('GET', `/nodes/${enc(N1)}/metrics/`);
    for (const [three] of METRIC_PAIRS) assert.equal(node.body.data[three], n1[three], three);
  });

  it('messages/qos2/expired: a QoS 2 message whose PUBLREL never came, after the await-rel timeout', async (t) => {
    const { raw } = await RawClient.connect(c.node('n2').mqttPort, { clientId: uid('par-q2') }, t);
    raw.send({ cmd: 'publish', topic: 'par/q2', payload: Buffer.from('x'), qos: 2, messageId: 7, retain: false, dup: false });
    await raw.next('pubrec');
    const expired = await eventually(async () => {
      const n = (await v3('GET', `/nodes/${enc(N2)}/metrics/`)).body.data['messages/qos2/expired'];
      assert.equal(n, 1);
      return n;
    }, 5000);
    assert.equal(expired, 1);
    // the v4 API has no such counter
    const v4n = await v4('GET', `/nodes/${enc(N2)}/metrics`);
    ok(v4n);
    assert.equal(v4n.body.data['messages.qos2.expired'], undefined);
  });

  it('stats: flat objects with node, slash names; the persistent sessions counted as EMQX 3 did', async () => {
    // the QoS 2 test's client closes as that test ends: its node may count its session a moment longer
    const by = await eventually(async () => {
      const r = await v3('GET', '/stats/');
      ok(r);
      const rows = byId(r.body.data, 'node');
      assert.deepEqual([...rows.keys()], [N1, N2, N3]);
      // b (n2) and the offline session (n3) have clean start 0
      assert.deepEqual([N1, N2, N3].map((n) => rows.get(n)!['sessions/persistent/count']), [0, 1, 1]);
      // a; b (the QoS 2 test's client has gone); the offline one
      assert.deepEqual([N1, N2, N3].map((n) => rows.get(n)!['sessions/count']), [1, 1, 1]);
      return rows;
    }, 5000);
    assert.equal(by.get(N1)!['subscriptions/count'], 2);
    const one = await v3('GET', `/nodes/${enc(N3)}/stats/`);
    assert.equal(one.body.data.node, undefined);
    assert.equal(one.body.data['sessions/persistent/count'], 1);
    assert.equal(one.body.data['connections/count'], 0);
    const four = await v4('GET', `/nodes/${enc(N3)}/stats`);
    ok(four);
    // every v4 gauge 3.x had, under its slash name, and no other key but 3.x's persistent sessions
    const mapped = Object.entries(four.body.data as Record<string, number>).filter(([k]) => !/^(channels|suboptions|resources)\./.test(k));
    for (const [k, v] of mapped) assert.equal(one.body.data[k.replaceAll('.', '/')], v, k);
    assert.deepEqual(Object.keys(one.body.data).sort(), [...mapped.map(([k]) => k.replaceAll('.', '/')), 'sessions/persistent/count', 'sessions/persistent/max'].sort());
  });

  it('nodes: v4’s rows with name; one node’s memory in bytes', async () => {
    const r3 = await v3('GET', '/nodes/');
    const r4 = await v4('GET', '/nodes');
    assert.deepEqual(
      r3.body.data.map((n: Row) => [n.name, n.node, n.version, n.max_fds, n.node_status]),
      r4.body.data.map((n: Row) => [n.node, n.node, n.version, n.max_fds, n.node_status]),
    );
    const one = (await v3('GET', `/nodes/${enc(N2)}`)).body.data;
    assert.equal(one.name, N2);
    assert.ok(Number.isInteger(one.memory_total) && one.memory_total > 1e6, String(one.memory_total));
    assert.ok(Number.isInteger(one.memory_used) && one.memory_used > 0);
    assert.equal((await v3('GET', `/brokers/${enc(N2)}`)).body.data.node, undefined);
  });
});

describe('the same bans as v4', () => {
  it('a ban made with v3’s `as` is v4’s, and the other way round; deleted through v3, gone in v4', async () => {
    const until = Math.floor(Date.now() / 1000) + 600;
    const who = uid('par-ban');
    ok(await v3('POST', '/banned/', { who, as: 'client_id', reason: 'r', desc: 'd', until }));
    ok(await v4('POST', '/banned', { who: '10.1.2.3', as: 'peerhost', reason: 'r4', until }));
    ok(await v3('POST', '/banned/', { who: 'par-user', as: 'username', until }));
    const rows4 = (await v4('GET', '/banned')).body.data as Row[];
    assert.deepEqual(rows4.find((e) => e.who === who), { who, as: 'clientid', reason: 'r', by: 'user', at: rows4.find((e) => e.who === who)!.at, until });
    const rows3 = (await v3('GET', '/banned/')).body.data as Row[];
    assert.deepEqual(rows3.map((e) => [e.who, e.as]).sort(), rows4.map((e) => [e.who, { clientid: 'client_id', username: 'username', peerhost: 'ip_address' }[e.as as string]]).sort());
    // the v3 ban is enforced: the client is refused at CONNECT
    await assert.rejects(connectClient(tcpUrl(c.node('n2').mqttPort), { clientId: who }));
    ok(await v3('DELETE', `/banned/par-user?as=username`), ['code']);
    ok(await v3('DELETE', `/banned/10.1.2.3?as=ip_address`), ['code']);
    ok(await v3('DELETE', `/banned/${enc(who)}?as=client_id`), ['code']);
    assert.deepEqual((await v4('GET', '/banned')).body.data, []);
  });

  it('bad `as`: 108; no `as` on delete: 107', async () => {
    fails(await v3('POST', '/banned/', { who: 'x', as: 'clientid' }), 400, 108);
    fails(await v3('DELETE', '/banned/x?as=peerhost'), 400, 108);
    fails(await v3('DELETE', '/banned/x'), 400, 107);
    fails(await v3('POST', '/banned/', { as: 'client_id' }), 400, 107);
  });
});

describe('paging and errors in v3’s form', () => {
  it('meta is page, limit, count (the total): _page and _limit page across the nodes', async () => {
    const all = (await v3('GET', '/sessions/')).body.data.map((r: Row) => r.client_id);
    assert.equal(all.length, 3);
    const pages: string[] = [];
    for (let page = 1; page <= 3; page++) {
      const r = await v3('GET', `/sessions/?_page=${page}&_limit=1`);
      ok(r, ['code', 'data', 'meta']);
      assert.deepEqual(r.body.meta, { page, limit: 1, count: 3 });
      pages.push(...r.body.data.map((x: Row) => x.client_id));
    }
    assert.deepEqual(pages, all);
    const second = (await v3('GET', '/connections/?_page=2&_limit=1')).body;
    assert.deepEqual(second.meta, { page: 2, limit: 1, count: 2 });
    assert.equal(second.data[0].client_id, b.clientId);
    assert.deepEqual((await v3('GET', '/subscriptions/?_page=9&_limit=2')).body.data, []);
    assert.deepEqual((await v3('GET', '/banned/?_page=1&_limit=5')).body.meta, { page: 1, limit: 5, count: 0 });
  });

  it('bad paging parameters: 400 {"code":108,"message"}', async () => {
    for (const q of ['_page=0', '_limit=abc', '_page=-1']) fails(await v3('GET', `/connections/?${q}`), 400, 108);
  });

  it('a client not online: {"code":112,"message":"session_not_found"} for a kick, a subscribe, an unsubscribe', async () => {
    const nobody = `nobody-${uid()}`;
    for (const r of [await v3('DELETE', `/connections/${nobody}`), await v3('POST', '/mqtt/subscribe', { topic: 't', client_id: nobody }), await v3('POST', '/mqtt/unsubscribe', { topic: 't', client_id: nobody })]) {
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { code: 112, message: 'session_not_found' });
    }
  });

  it('malformed bodies: 107 naming client_id, 115 a bad topic, 116 a bad QoS, 109 not JSON', async () => {
    const r = await v3('POST', '/mqtt/subscribe', { topic: 't' });
    fails(r, 400, 107);
    assert.match(r.body.message, /client_id/);
    fails(await v3('POST', '/mqtt/publish', { topic: 'a/+', client_id: a.clientId }), 400, 115);
    fails(await v3('POST', '/mqtt/publish', { topic: 'a', qos: 3, client_id: a.clientId }), 400, 116);
    const noId = await v3('POST', '/mqtt/publish', { topic: 'a' });
    fails(noId, 400, 107);
    assert.match(noId.body.message, /client_id/);
    fails(await api(gw.url, 'POST', '/api/v3/mqtt/publish', { raw: '{"topic":' }), 400, 109);
  });

  it('an unknown node or plugin: 404 with a JSON body; an unknown path too', async () => {
    for (const path of ['/nodes/nobody@127.0.0.1', '/brokers/nobody@127.0.0.1', '/nodes/nobody@127.0.0.1/connections/', '/nodes/nobody@127.0.0.1/metrics/', '/alarms/nobody@127.0.0.1', '/no/such/path']) {
      fails(await v3('GET', path), 404, 404);
    }
    fails(await v3('PUT', `/nodes/${enc(N1)}/plugins/emqx_no_such_plugin/load`), 404, 404);
  });

  // Last: it leaves n3 dead.
  it('a node down: {"code":101,"message"} naming it, within the RPC timeout, then the survivors answer', async () => {
    await c.node('n3').kill9();
    const started = Date.now();
    const r = await v3('GET', '/connections/');
    fails(r, 200, 101);
    assert.match(r.body.message, /n3@127\.0\.0\.1/);
    assert.ok(Date.now() - started < RPC_TIMEOUT_MS + 1500);
    fails(await v3('GET', '/metrics/'), 200, 101);
    const rows = await eventually(async () => {
      const again = await v3('GET', '/stats/');
      ok(again);
      return again.body.data as Row[];
    }, 5000);
    assert.deepEqual(
      rows.map((x) => x.node),
      [N1, N2],
    );
  });
});
