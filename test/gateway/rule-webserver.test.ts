// A data_to_webserver rule end to end through a real gateway over a real three-node
// cluster: a web_hook resource (POST /api/v4/resources) pointing at an HTTP server this test
// runs, a rule with a data_to_webserver action over it (POST /api/v4/rules); messages
// published on two nodes reach the server with the templated path and body, only those
// passing WHERE; the action's success/failed per node (GET /api/v4/rules/{id}) count the
// deliveries and, once the server is down, the failures; the resource cannot be deleted
// while the rule uses it (both kept).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, fullName, startCluster, type TestCluster } from '../support/cluster.js';
import { api, fails, ok, startGateway, type ApiAnswer, type GatewayProcess } from '../support/gateway.js';
import { startHttpSink, type HttpSink } from '../support/http-sink.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
let sink: HttpSink | undefined;

before(async () => {
  [c, sink] = await Promise.all([startCluster(['n1', 'n2', 'n3']), startHttpSink()]);
  gw = await startGateway(c);
});

after(async () => {
  await closeAllClients();
  await sink?.close();
  await gw?.stop();
  await c?.stop();
});

const NODES = ['n1', 'n2', 'n3'].map(fullName);
const call = (method: string, path: string, body?: unknown): Promise<ApiAnswer> => api(gw!.url, method, `/api/v4${path}`, { body });
const enc = encodeURIComponent;

/** The rule's action metrics by node: [success, failed]. */
async function actionCounts(ruleId: string): Promise<Record<string, [number, number]>> {
  const r = await call('GET', `/rules/${enc(ruleId)}`);
  ok(r);
  const out: Record<string, [number, number]> = {};
  for (const m of r.body.data.actions[0].metrics as { node: string; success: number; failed: number }[]) out[m.node] = [m.success, m.failed];
  return out;
}

describe('data_to_webserver through the API', () => {
  let resourceId = '';
  let ruleId = '';

  it('a web_hook resource to the local server, alive on every node', async () => {
    const r = await call('POST', '/resources', { type: 'web_hook', config: { url: sink!.url, pool_size: 2, method: 'POST' }, description: 'rule sink' });
    ok(r);
    resourceId = r.body.data.id;
    await eventually(async () => {
      const s = await call('GET', `/resources/${enc(resourceId)}`);
      assert.deepEqual(s.body.data.status, NODES.map((node) => ({ node, is_alive: true })));
    });
  });

  it('a rule SELECT payload.x as x, clientid ... WHERE payload.x > 1 delivers what passes WHERE, from any node', async (t) => {
    const r = await call('POST', '/rules', {
      rawsql: 'SELECT payload.x as x, clientid FROM "t/#" WHERE payload.x > 1',
      actions: [{ name: 'data_to_webserver', params: { $resource: resourceId, path: '/rule/${clientid}', body: '{"x":${x},"from":"${clientid}"}' } }],
      description: 'to the web server',
    });
    ok(r);
    ruleId = r.body.data.id;
    assert.deepEqual(r.body.data.for, ['t/#']);
    assert.equal(r.body.data.actions[0].name, 'data_to_webserver');
    const clientIds = ['n1', 'n2'].map((n) => uid(`wp-${n}`));
    const pubs = await Promise.all(['n1', 'n2'].map((n, i) => connectClient(tcpUrl(c!.node(n).mqttPort), { clientId: clientIds[i] }, t)));
    // the rule reaches every node within a second: publish until the first passing message lands
    await eventually(async () => {
      sink!.requests.length = 0;
      await pubs[0]!.publish('t/a', JSON.stringify({ x: 2 }), { qos: 1 });
      await eventually(() => assert.equal(sink!.requests.length, 1), 1000);
    });
    await eventually(async () => {
      const before = sink!.requests.length;
      await pubs[1]!.publish('t/b', JSON.stringify({ x: 2 }), { qos: 1 });
      await eventually(() => assert.equal(sink!.requests.length, before + 1), 1000);
    });
    sink!.requests.length = 0;
    for (const [i, p] of pubs.entries()) {
      await p.publish('t/a', JSON.stringify({ x: 1 }), { qos: 1 }); // WHERE filters it out
      await p.publish('t/b', JSON.stringify({ x: 5 + i }), { qos: 1 });
      await p.publish('other', JSON.stringify({ x: 9 }), { qos: 1 }); // not in FROM
    }
    await eventually(() => assert.equal(sink!.requests.length, 2));
    const got = sink!.requests.map((q) => ({ method: q.method, url: q.url, body: JSON.parse(q.body) })).sort((a, b) => a.body.x - b.body.x);
    assert.deepEqual(got, [
      { method: 'POST', url: `/rule/${clientIds[0]}`, body: { x: 5, from: clientIds[0] } },
      { method: 'POST', url: `/rule/${clientIds[1]}`, body: { x: 6, from: clientIds[1] } },
    ]);
    // nothing else arrives (the x: 1 messages and the other topic)
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(sink!.requests.length, 2);
    await eventually(async () => {
      const m = await actionCounts(ruleId);
      assert.deepEqual(Object.keys(m).sort(), [...NODES].sort());
      // n1: its warm-up message(s) and x: 5; n2: its warm-up message(s) and x: 6; n3 saw nothing
      assert.ok(m[fullName('n1')]![0] >= 2 && m[fullName('n2')]![0] >= 2, JSON.stringify(m));
      assert.deepEqual(m[fullName('n3')], [0, 0]);
      for (const n of NODES) assert.equal(m[n]![1], 0, n);
    });
  });

  it('the server down: the action fails on the node that ran it, and `failed` moves there', async (t) => {
    const before = await actionCounts(ruleId);
    const port = sink!.port;
    await sink!.close();
    const pub = await connectClient(tcpUrl(c!.node('n2').mqttPort), { clientId: uid('wp-down') }, t);
    await pub.publish('t/c', JSON.stringify({ x: 3 }), { qos: 1 });
    await pub.publish('t/c', JSON.stringify({ x: 0 }), { qos: 1 }); // filtered: no attempt
    await eventually(async () => {
      const m = await actionCounts(ruleId);
      assert.deepEqual(m[fullName('n2')], [before[fullName('n2')]![0], before[fullName('n2')]![1] + 1]);
      assert.deepEqual(m[fullName('n1')], before[fullName('n1')]);
    });
    sink = await startHttpSink(port);
  });

  it('deleting the resource while the rule uses it answers the error and keeps both', async () => {
    const r = await call('DELETE', `/resources/${enc(resourceId)}`);
    fails(r, 400, 102);
    assert.match(r.body.message, new RegExp(ruleId));
    ok(await call('GET', `/resources/${enc(resourceId)}`));
    ok(await call('GET', `/rules/${enc(ruleId)}`));
    // once the rule goes, the resource can
    ok(await call('DELETE', `/rules/${enc(ruleId)}`), ['code']);
    ok(await call('DELETE', `/resources/${enc(resourceId)}`), ['code']);
    fails(await call('GET', `/resources/${enc(resourceId)}`), 404, 404);
  });
});
