// GET /api/v4/listeners and /nodes/{node}/listeners through a real gateway on a real
// three-node cluster: the spec's fields and types, current_conns following real MQTT
// clients over TCP and WebSocket, and shutdown_count by EMQX's reason names (normal,
// kicked, takeovered, discarded), `[]` while nothing has been counted. A standalone node,
// which serves the API itself, lists it as EMQX does: `http:management`.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ListenerRow as Row } from '../../shared/api/listeners.js';
import { startNode } from '../support/broker.js';
import { eventually, fullName } from '../support/cluster.js';
import { api, fails, ok } from '../support/gateway.js';
import { connectClient, tcpUrl, uid, wsUrl, type Scope } from '../support/mqtt-clients.js';
import { useGatewayCluster } from '../support/gateway-cluster.js';

const cluster = useGatewayCluster();

const NODES = ['n1', 'n2', 'n3'].map(fullName);
const get = (path: string) => api(cluster.base, 'GET', `/api/v4${path}`);

/** One node's listeners by protocol, from the per-node form. */
async function listenersOf(short: string): Promise<Record<string, Row>> {
  const r = await get(`/nodes/${fullName(short)}/listeners`);
  ok(r);
  return Object.fromEntries((r.body.data as Row[]).map((l) => [l.protocol, l]));
}

function assertRow(l: Row): void {
  assert.deepEqual(Object.keys(l).sort(), ['acceptors', 'current_conns', 'listen_on', 'max_conns', 'protocol', 'shutdown_count']);
  for (const k of ['acceptors', 'current_conns', 'max_conns'] as const) assert.ok(Number.isInteger(l[k]) && l[k] >= 0, `${k}: ${l[k]}`);
  assert.equal(typeof l.protocol, 'string');
  assert.equal(typeof l.listen_on, 'string');
  const sc = l.shutdown_count;
  assert.ok(Array.isArray(sc) ? sc.length === 0 : typeof sc === 'object' && sc !== null, JSON.stringify(sc));
  if (!Array.isArray(sc)) for (const [reason, n] of Object.entries(sc)) assert.ok(Number.isInteger(n) && n > 0, `${reason}: ${n}`);
}

const count = (l: Row | undefined, reason: string): number => (l && !Array.isArray(l.shutdown_count) ? (l.shutdown_count[reason] ?? 0) : 0);

const tcp = (short: string, clientId: string, opts: Record<string, unknown>, t: Scope) => connectClient(tcpUrl(cluster.c.node(short).mqttPort), { clientId, ...opts }, t);

it('GET /listeners: one {node, listeners} per node, in node order, each listener with the spec fields; [] before any connection ended', async () => {
  const r = await get('/listeners');
  ok(r);
  assert.deepEqual(
    r.body.data.map((n: { node: string }) => n.node),
    NODES,
  );
  for (const n of r.body.data as { node: string; listeners: Row[] }[]) {
    assert.deepEqual(Object.keys(n).sort(), ['listeners', 'node']);
    const short = n.node.split('@')[0]!;
    const proc = cluster.c.node(short);
    const byProto = Object.fromEntries(n.listeners.map((l) => [l.protocol, l]));
    assert.deepEqual(Object.keys(byProto).sort(), ['mqtt:tcp', 'mqtt:ws']);
    for (const l of n.listeners) {
      assertRow(l);
      assert.deepEqual(l.shutdown_count, [], 'nothing counted yet: the spec shows []');
      assert.equal(l.current_conns, 0);
      assert.equal(l.max_conns, 1024000);
    }
    // bound to 127.0.0.1 (STARLING_BIND in the tests): address and port, as EMQX shows a bound address
    assert.equal(byProto['mqtt:tcp']!.listen_on, `127.0.0.1:${proc.mqttPort}`);
    assert.equal(byProto['mqtt:ws']!.listen_on, `127.0.0.1:${proc.wsPort}`);
  }
});

it('GET /nodes/{node}/listeners answers that node’s array; an unknown node is 404', async () => {
  const r = await get(`/nodes/${encodeURIComponent(fullName('n2'))}/listeners`);
  ok(r);
  assert.ok(Array.isArray(r.body.data));
  for (const l of r.body.data as Row[]) assertRow(l);
  assert.equal((r.body.data as Row[]).find((l) => l.protocol === 'mqtt:tcp')!.listen_on, `127.0.0.1:${cluster.c.node('n2').mqttPort}`);
  fails(await get('/nodes/nobody@127.0.0.1/listeners'), 404, 404);
});

it('current_conns follows real clients over TCP and WebSocket on their node only; a clean DISCONNECT counts as normal', async (t) => {
  const before2 = await listenersOf('n2');
  const a = await tcp('n2', uid('lt-a'), {}, t);
  const b = await tcp('n2', uid('lt-b'), {}, t);
  const w = await connectClient(wsUrl(cluster.c.node('n2').wsPort), { clientId: uid('lt-w') }, t);
  const during = await listenersOf('n2');
  assert.equal(during['mqtt:tcp']!.current_conns, before2['mqtt:tcp']!.current_conns + 2);
  assert.equal(during['mqtt:ws']!.current_conns, before2['mqtt:ws']!.current_conns + 1);
  // the other nodes' listeners did not move
  for (const other of ['n1', 'n3']) {
    const l = await listenersOf(other);
    assert.equal(l['mqtt:tcp']!.current_conns, 0);
    assert.equal(l['mqtt:ws']!.current_conns, 0);
  }
  await Promise.all([a.end(), b.end(), w.end()]);
  const afterwards = await eventually(async () => {
    const l = await listenersOf('n2');
    assert.equal(l['mqtt:tcp']!.current_conns, before2['mqtt:tcp']!.current_conns);
    assert.equal(l['mqtt:ws']!.current_conns, before2['mqtt:ws']!.current_conns);
    return l;
  });
  assert.equal(count(afterwards['mqtt:tcp'], 'normal'), count(before2['mqtt:tcp'], 'normal') + 2);
  assert.equal(count(afterwards['mqtt:ws'], 'normal'), count(before2['mqtt:ws'], 'normal') + 1);
  assertRow(afterwards['mqtt:tcp']!);
});

it('a kick through the API counts as kicked on the listener the client was on', async (t) => {
  const id = uid('lt-kick');
  const before3 = await listenersOf('n3');
  const cl = await tcp('n3', id, {}, t);
  ok(await api(cluster.base, 'DELETE', `/api/v4/clients/${encodeURIComponent(id)}`), ['code']);
  await cl.waitClose();
  await eventually(async () => {
    const l = await listenersOf('n3');
    assert.equal(count(l['mqtt:tcp'], 'kicked'), count(before3['mqtt:tcp'], 'kicked') + 1);
    assert.equal(l['mqtt:tcp']!.current_conns, before3['mqtt:tcp']!.current_conns);
  });
});

it('a takeover (clean session false) counts as takeovered, a clean one as discarded, on the old connection’s node', async (t) => {
  const before1 = await listenersOf('n1');
  const kept = uid('lt-take');
  const first = await tcp('n1', kept, { clean: false }, t);
  // the same clientid connecting to another node takes the session over from n1
  await tcp('n2', kept, { clean: false }, t);
  await first.waitClose();
  const dropped = uid('lt-disc');
  const old = await tcp('n1', dropped, { clean: true }, t);
  await tcp('n1', dropped, { clean: true }, t);
  await old.waitClose();
  await eventually(async () => {
    const l = await listenersOf('n1');
    assert.equal(count(l['mqtt:tcp'], 'takeovered'), count(before1['mqtt:tcp'], 'takeovered') + 1);
    assert.equal(count(l['mqtt:tcp'], 'discarded'), count(before1['mqtt:tcp'], 'discarded') + 1);
  });
});

it('a standalone node lists its management API as http:management, with its open connections', async (t) => {
  const node = await startNode({ name: 'standalone', env: { STARLING_API_MAX_CONNS: '300' } });
  t.after(() => node.stop(3000));
  const port = node.listeners['http:management']!;
  const r = await api(`http://127.0.0.1:${port}`, 'GET', '/api/v4/listeners');
  ok(r);
  assert.equal(r.body.data.length, 1);
  const rows = r.body.data[0].listeners as Row[];
  assert.deepEqual(
    rows.map((l) => l.protocol),
    ['mqtt:tcp', 'mqtt:ws', 'http:management'],
  );
  const http = rows[2]!;
  assertRow(http);
  assert.equal(http.listen_on, `127.0.0.1:${port}`);
  assert.equal(http.max_conns, 300); // STARLING_API_MAX_CONNS
  // this request's own connection is open
  assert.ok(http.current_conns >= 1, JSON.stringify(http));
});
