// The rule engine through a real gateway over a real three-node cluster: rules created,
// listed, filtered, updated and deleted through /api/v4/rules; a republish rule on t/#
// runs on every node for the traffic published there (a subscriber of the target topic
// gets each message), WHERE filters, event rules on connect/disconnect, metrics per node,
// the actions listing, and bad SQL or actions refused without creating anything.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, fullName } from '../support/cluster.js';
import { api, fails, ok, type ApiAnswer } from '../support/gateway.js';
import { connectClient, sleep, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';
import type { RulesNodeMetrics } from '../../shared/api/rules.js';
import { useGatewayCluster } from '../support/gateway-cluster.js';

const cluster = useGatewayCluster();

const SHORTS = ['n1', 'n2', 'n3'];
const enc = encodeURIComponent;
const call = (method: string, path: string, body?: unknown): Promise<ApiAnswer> => api(cluster.base, method, `/api/v4${path}`, { body });
const get = (path: string): Promise<ApiAnswer> => call('GET', path);

/** Resolves once every node runs exactly the given rule ids (their config has reached each node). */
async function everyNodeHas(ids: string[]): Promise<void> {
  await eventually(async () => {
    for (const n of SHORTS) {
      const m: RulesNodeMetrics = await cluster.c.transport.request(fullName(n), 'rules.metrics', {}, 2000);
      assert.deepEqual(Object.keys(m.rules).sort(), [...ids].sort(), n);
    }
  });
}

const ids = async (query = ''): Promise<string[]> => {
  const r = await get(`/rules${query}`);
  ok(r);
  return r.body.data.map((x: { id: string }) => x.id);
};

async function create(body: Record<string, unknown>): Promise<Record<string, any>> {
  const r = await call('POST', '/rules', body);
  ok(r);
  return r.body.data;
}

/** Waits until a rule's SQL runs on a node: a probe published there comes back republished. */
async function subscriber(t: { after(fn: () => unknown): void }, node: string, topic: string): Promise<TestClient> {
  const sub = await connectClient(tcpUrl(cluster.c.node(node).mqttPort), { clientId: uid('rsub') }, t);
  await sub.subscribe(topic, { qos: 1 });
  return sub;
}

describe('actions', () => {
  it('GET /actions lists inspect, do_nothing and republish with their schema; /actions/{name} one, 404 for none', async () => {
    const r = await get('/actions');
    ok(r);
    const names = r.body.data.map((a: { name: string }) => a.name);
    for (const n of ['inspect', 'do_nothing', 'republish']) assert.ok(names.includes(n), n);
    const one = await get('/actions/inspect');
    ok(one);
    assert.deepEqual(one.body.data, {
      types: [],
      title: { zh: '检查 (调试)', en: 'Inspect (debug)' },
      params: {},
      name: 'inspect',
      for: '$any',
      description: { zh: '检查动作参数 (用以调试)', en: 'Inspect the details of action params for debug purpose' },
      app: 'emqx_rule_engine',
    });
    const rp = (await get('/actions/republish')).body.data;
    assert.deepEqual(Object.keys(rp.params).sort(), ['payload_tmpl', 'target_qos', 'target_retain', 'target_topic']);
    assert.equal(rp.params.target_topic.required, true);
    assert.deepEqual(rp.params.target_qos.enum, [-1, 0, 1, 2]);
    fails(await get('/actions/nope'), 404, 404);
  });
});

describe('rules', () => {
  const target = uid('repub');
  let rule: Record<string, any> = {};

  it('POST creates a rule as the spec shows it: id rule:<hex>, for from FROM, metrics per node', async () => {
    rule = await create({
      rawsql: `SELECT payload.v AS v, clientid, topic FROM "t/#" WHERE v > 10`,
      actions: [{ name: 'republish', params: { target_topic: `${target}/\${clientid}`, payload_tmpl: '${topic}:${v}:${payload.v}', target_qos: -1 } }],
      description: 'big values',
    });
    assert.match(rule.id, /^rule:[0-9a-f]{8}$/);
    assert.deepEqual(rule.for, ['t/#']);
    assert.equal(rule.enabled, true);
    assert.equal(rule.description, 'big values');
    assert.equal(typeof rule.created_at, 'number');
    assert.deepEqual(rule.metrics.map((m: { node: string }) => m.node).sort(), SHORTS.map(fullName).sort());
    for (const m of rule.metrics) assert.deepEqual(Object.keys(m).sort(), ['matched', 'node', 'speed', 'speed_last5m', 'speed_max']);
    assert.equal(rule.actions.length, 1);
    assert.match(rule.actions[0].id, /^republish_\d+$/);
    assert.deepEqual(rule.actions[0].metrics.map((m: Record<string, unknown>) => Object.keys(m).sort()), SHORTS.map(() => ['failed', 'node', 'success']));
    await everyNodeHas([rule.id]);
    const shown = await get(`/rules/${enc(rule.id)}`);
    ok(shown);
    assert.equal(shown.body.data.rawsql, rule.rawsql);
  });

  it('republishes traffic published on any node, filtered by WHERE; metrics move on the node that saw it', async (t) => {
    const sub = await subscriber(t, 'n2', `${target}/#`);
    const pubs: TestClient[] = [];
    for (const n of SHORTS) pubs.push(await connectClient(tcpUrl(cluster.c.node(n).mqttPort), { clientId: uid(`rpub-${n}`) }, t));
    const from = sub.mark();
    for (const [i, p] of pubs.entries()) {
      await p.publish(`t/${i}`, JSON.stringify({ v: 5 }), { qos: 1 }); // WHERE refuses
      await p.publish(`t/${i}`, JSON.stringify({ v: 20 + i }), { qos: 1 });
      await p.publish(`other/${i}`, JSON.stringify({ v: 99 }), { qos: 1 }); // not in FROM
    }
    const got = await sub.waitForMessages(3, { filter: (m) => m.topic.startsWith(target), from });
    await sleep(300);
    const all = sub.messages((m) => m.topic.startsWith(target)).slice(-3);
    assert.equal(sub.messages((m) => m.topic.startsWith(target)).length, 3, 'only the messages WHERE passes');
    assert.deepEqual(got.map((m) => m.payload).sort(), ['t/0:20:20', 't/1:21:21', 't/2:22:22']);
    for (const [i, p] of pubs.entries()) assert.ok(all.some((m) => m.topic === `${target}/${p.clientId}` && m.qos === 1), `from ${SHORTS[i]}`);
    const r = await get(`/rules/${enc(rule.id)}`);
    for (const m of r.body.data.metrics) assert.equal(m.matched, 2, `${m.node}: the two t/ messages published there`);
    for (const m of r.body.data.actions[0].metrics) assert.deepEqual([m.success, m.failed], [1, 0], m.node);
    await eventually(async () => {
      const again = await get(`/rules/${enc(rule.id)}`);
      assert.ok(again.body.data.metrics.some((m: { speed_max: number }) => m.speed_max > 0));
    });
  });

  it('PUT changes any subset: enabled false stops it everywhere, rawsql re-derives for', async (t) => {
    const off = await call('PUT', `/rules/${enc(rule.id)}`, { enabled: false });
    ok(off);
    assert.equal(off.body.data.enabled, false);
    assert.equal(off.body.data.rawsql, rule.rawsql);
    const sub = await subscriber(t, 'n3', `${target}/#`);
    const pub = await connectClient(tcpUrl(cluster.c.node('n1').mqttPort), { clientId: uid('rpub') }, t);
    await sleep(500);
    await pub.publish('t/x', JSON.stringify({ v: 50 }), { qos: 1 });
    await sleep(400);
    assert.equal(sub.messages((m) => m.topic.startsWith(target)).length, 0, 'a disabled rule runs nowhere');
    const moved = await call('PUT', `/rules/${enc(rule.id)}`, { rawsql: 'SELECT payload.v AS v, clientid, topic FROM "u/+", "w/#"', enabled: true, description: 'moved' });
    ok(moved);
    assert.deepEqual(moved.body.data.for, ['u/+', 'w/#']);
    assert.equal(moved.body.data.description, 'moved');
    assert.equal(moved.body.data.actions[0].name, 'republish', 'actions kept');
    await eventually(async () => {
      const mark = sub.mark();
      await pub.publish('u/1', JSON.stringify({ v: 1 }), { qos: 1 });
      await sub.waitForMessage((m) => m.topic.startsWith(target) && m.payload === 'u/1:1:1', { from: mark, timeoutMs: 300 });
    });
    fails(await call('PUT', '/rules/rule:00000000', { enabled: false }), 404, 404);
  });

  it('event rules: client_connected and client_disconnected republish the event', async (t) => {
    const evTopic = uid('events');
    const r1 = await create({ rawsql: 'SELECT clientid, username, peername, node FROM "$events/client_connected"', actions: [{ name: 'republish', params: { target_topic: `${evTopic}/connected`, payload_tmpl: '${clientid}|${node}' } }] });
    const r2 = await create({ rawsql: `SELECT * FROM "$events/client_disconnected" WHERE regex_match(clientid, '^ev-')`, actions: [{ name: 'republish', params: { target_topic: `${evTopic}/disconnected`, payload_tmpl: '${clientid}|${reason}' } }] });
    assert.deepEqual(r1.for, ['$events/client_connected']);
    await everyNodeHas([rule.id, r1.id, r2.id]);
    const sub = await subscriber(t, 'n1', `${evTopic}/#`);
    const id = `ev-${uid('c')}`;
    const from = sub.mark();
    const client = await connectClient(tcpUrl(cluster.c.node('n3').mqttPort), { clientId: id }, t);
    const conn = await sub.waitForMessage(`${evTopic}/connected`, { from });
    // other test clients connect too; this one's event names it and its node
    await eventually(() => assert.ok(sub.messages(`${evTopic}/connected`).some((m) => m.payload === `${id}|${fullName('n3')}`), conn.payload));
    await client.end();
    await eventually(() => assert.ok(sub.messages(`${evTopic}/disconnected`).some((m) => m.payload === `${id}|normal`)));
    ok(await call('DELETE', `/rules/${enc(r1.id)}`), ['code']);
    ok(await call('DELETE', `/rules/${enc(r2.id)}`), ['code']);
  });

  it('bad SQL answers 108 with the position and creates nothing; so do unknown actions and bad params', async () => {
    const before = await ids();
    const bad = await call('POST', '/rules', { rawsql: 'SELECT * FROM t/1', actions: [{ name: 'do_nothing', params: {} }] });
    fails(bad, 400, 108);
    assert.match(bad.body.message, /line 1, column 15/);
    const unknownAction = await call('POST', '/rules', { rawsql: 'SELECT * FROM "t"', actions: [{ name: 'nope', params: {} }] });
    fails(unknownAction, 400, 108);
    assert.match(unknownAction.body.message, /nope/);
    fails(await call('POST', '/rules', { rawsql: 'SELECT * FROM "t"', actions: [{ name: 'republish', params: { target_qos: 1 } }] }), 400, 108);
    fails(await call('POST', '/rules', { actions: [] }), 400, 107);
    fails(await call('PUT', `/rules/${enc(rule.id)}`, { rawsql: 'SELECT' }), 400, 108);
    assert.deepEqual(await ids(), before);
    assert.equal((await get(`/rules/${enc(rule.id)}`)).body.data.rawsql.includes('u/+'), true, 'a refused PUT changes nothing');
  });

  it('listing filters and paging', async () => {
    const a = await create({ rawsql: 'SELECT * FROM "f/a/1"', actions: [{ name: 'do_nothing', params: {} }], description: 'alpha one' });
    const b = await create({ rawsql: 'SELECT * FROM "f/b/2", "g/x"', actions: [{ name: 'inspect', params: { a: 1 } }], description: 'beta two', enabled: false });
    assert.deepEqual(await ids('?enabled=false'), [b.id]);
    assert.deepEqual(await ids('?for=g/x'), [b.id]);
    assert.deepEqual((await ids('?_like_for=f/')).sort(), [a.id, b.id].sort());
    assert.deepEqual((await ids(`?_match_for=${enc('f/#')}`)).sort(), [a.id, b.id].sort());
    assert.deepEqual(await ids(`?_match_for=${enc('f/a/+')}`), [a.id]);
    assert.deepEqual(await ids('?_like_description=beta'), [b.id]);
    assert.deepEqual(await ids(`?_like_id=${enc(a.id.slice(5))}`), [a.id]);
    const all = await ids();
    assert.deepEqual(all.slice(-2), [a.id, b.id], 'oldest first');
    const paged = await get('/rules?enable_paging=true&_page=1&_limit=2');
    ok(paged, ['code', 'data', 'meta']);
    assert.equal(paged.body.data.length, 2);
    assert.equal(paged.body.meta.count, all.length);
    assert.equal(paged.body.meta.page, 1);
    assert.equal(paged.body.meta.limit, 2);
    assert.equal((await get('/rules')).body.meta, undefined, 'no meta without enable_paging');
    ok(await call('DELETE', `/rules/${enc(a.id)}`), ['code']);
    fails(await call('DELETE', `/rules/${enc(a.id)}`), 404, 404);
    fails(await get(`/rules/${enc(a.id)}`), 404, 404);
    ok(await call('DELETE', `/rules/${enc(b.id)}`), ['code']);
    await everyNodeHas([rule.id]);
  });

  it('unloading emqx_rule_engine stops every rule; loading it runs them again', async (t) => {
    for (const n of SHORTS) ok(await call('PUT', `/nodes/${fullName(n)}/plugins/emqx_rule_engine/unload`), ['code']);
    const sub = await subscriber(t, 'n1', `${target}/#`);
    const pub = await connectClient(tcpUrl(cluster.c.node('n2').mqttPort), { clientId: uid('rpub') }, t);
    await sleep(300);
    const from = sub.mark();
    await pub.publish('u/2', JSON.stringify({ v: 2 }), { qos: 1 });
    await pub.barrier();
    await sleep(300);
    assert.equal(sub.messages((m) => m.topic.startsWith(target)).length, 0, 'nothing while unloaded');
    for (const n of SHORTS) ok(await call('PUT', `/nodes/${fullName(n)}/plugins/emqx_rule_engine/load`), ['code']);
    await eventually(async () => {
      await pub.publish('u/3', JSON.stringify({ v: 3 }), { qos: 1 });
      await sub.waitForMessage((m) => m.payload === 'u/3:3:3', { from, timeoutMs: 300 });
    });
    ok(await call('DELETE', `/rules/${enc(rule.id)}`), ['code']);
    await everyNodeHas([]);
  });
});


describe('POST /api/v4/rules?test=true', () => {
  const test = (body: unknown): Promise<ApiAnswer> => call('POST', '/rules?test=true', body);

  it('runs the SQL once on the sample: the selected columns, payload fields decoded, nothing created', async () => {
    const before = await ids();
    const r = await test({
      rawsql: 'SELECT payload.temp as t, topic, clientid, upper(username) as u FROM "t/#" WHERE t > 20',
      ctx: { topic: 't/room1', payload: '{"temp": 25}', clientid: 'c1', username: 'bob', qos: 1 },
    });
    ok(r);
    assert.deepEqual(r.body.data, { t: 25, topic: 't/room1', clientid: 'c1', u: 'BOB' });
    const star = await test({ rawsql: 'SELECT * FROM "t/#"', ctx: { topic: 't/x', payload: 'hi', clientid: 'c2', qos: 0 } });
    ok(star);
    assert.equal(star.body.data.payload, 'hi');
    assert.equal(star.body.data.qos, 0);
    assert.match(star.body.data.node, /@/);
    assert.deepEqual(await ids(), before);
  });

  it('WHERE refusing the sample answers EMQX\'s code 404 "SQL Not Match"', async () => {
    const r = await test({ rawsql: 'SELECT * FROM "t/#" WHERE payload.temp > 30', ctx: { topic: 't/a', payload: '{"temp": 25}' } });
    fails(r, 200, 404);
    assert.equal(r.body.message, 'SQL Not Match');
  });

  it('bad SQL answers 108 with its line and column', async () => {
    const r = await test({ rawsql: 'SELECT *\nFROM t/1', ctx: { topic: 't/1', payload: '' } });
    fails(r, 400, 108);
    assert.match(r.body.message, /line 2, column 6/);
    fails(await test({ ctx: {} }), 400, 107);
  });
});
