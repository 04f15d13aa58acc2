// `npm run cluster` brings up the deployable topology as real local processes
// (nats-server, redis-server, 3 nodes, 2 gateways, HAProxy, Prometheus), and clients
// reach it the way they reach the compose cluster: MQTT and the API through HAProxy.
// The tests run in order on one cluster: the gateway kill and the shutdown come last.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { api, ok } from '../support/gateway.js';
import { launchCluster, processGroup, type LaunchedCluster } from '../support/local-cluster.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';
import { isPortFree } from '../support/ports.js';
import { eventually } from '../support/wait.js';

const NODE_NAMES = ['n1@127.0.0.1', 'n2@127.0.0.1', 'n3@127.0.0.1'];

/** Every test is bounded in time; the cluster is stopped in `after` whatever happens. */
const BOUNDED = { timeout: 60_000 };

let c: LaunchedCluster;
let apiUrl: string;

before(async () => {
  c = await launchCluster();
  apiUrl = `http://127.0.0.1:${c.ports.api}`;
}, { timeout: 120_000 });

after(async () => {
  await closeAllClients();
  if (c) {
    await c.stop(15_000);
    await c.destroy();
  }
}, { timeout: 60_000 });

/** HAProxy's view of one server, from its stats page's CSV: "UP", "DOWN", ... */
async function haproxyStatus(backend: string, server: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${c.ports.stats}/;csv`, { signal: AbortSignal.timeout(5000) });
  const [header, ...rows] = (await res.text()).trim().split('\n');
  const cols = header!.replace(/^# /, '').split(',');
  const row = rows.map((r) => r.split(',')).find((r) => r[0] === backend && r[cols.indexOf('svname')] === server);
  assert.ok(row, `no ${backend}/${server} in HAProxy's stats`);
  return row[cols.indexOf('status')]!;
}

it('prints where everything listens, on the ports it was given', BOUNDED, () => {
  assert.match(c.stdout(), /^what\s+address\s+port\s+pid$/m);
  const expected: [string, number | undefined][] = [
    ['mqtt', c.ports.mqtt],
    ['api', c.ports.api],
    ['stats', c.ports.stats],
    ['prometheus', c.ports.prometheus],
    ['nats', c.ports.nats],
    ['redis', c.ports.redis],
    ['gw1', undefined],
    ['gw2', undefined],
    ['n1', undefined],
    ['n2', undefined],
    ['n3', undefined],
  ];
  for (const [name, port] of expected) {
    const row = c.row(name);
    if (port !== undefined) assert.equal(row.port, port, name);
    assert.ok(row.port > 0 && row.pid > 0, `${name}: ${JSON.stringify(row)}`);
    // the table on stdout says the same as cluster.json
    assert.ok(c.stdout().split('\n').some((l) => l.startsWith(row.what) && l.includes(row.address) && l.includes(` ${row.port} `)), `${name} in the table:\n${c.stdout()}`);
  }
  // every process belongs to the launcher's group, so nothing escapes its cleanup
  const group = processGroup(c.pid);
  for (const row of c.rows) assert.ok(group.includes(row.pid), `${row.name} (pid ${row.pid}) is in the launcher's process group`);
});

it('an MQTT client through HAProxy receives what another one publishes through it, across nodes', BOUNDED, async (t) => {
  const topic = `deploy/${uid('t')}`;
  const sub = await connectClient(tcpUrl(c.ports.mqtt), { clientId: uid('sub') }, t);
  await sub.subscribe(topic, { qos: 1 });
  const pub = await connectClient(tcpUrl(c.ports.mqtt), { clientId: uid('pub') }, t);
  await pub.publish(topic, 'through haproxy', { qos: 1 });
  const m = await sub.waitForMessage(topic);
  assert.equal(m.payload, 'through haproxy');
  assert.equal(m.qos, 1);
  // leastconn puts the second connection on another node than the first: the message crossed the cluster
  const where = async (id: string) => {
    const r = await api(apiUrl, 'GET', `/api/v4/clients/${id}`);
    ok(r);
    return r.body.data[0].node as string;
  };
  const [subNode, pubNode] = await Promise.all([where(sub.clientId), where(pub.clientId)]);
  assert.ok(NODE_NAMES.includes(subNode) && NODE_NAMES.includes(pubNode), `${subNode}, ${pubNode}`);
  assert.notEqual(subNode, pubNode);
});

it('the API through HAProxy answers with admin:public and lists the 3 nodes', BOUNDED, async () => {
  const r = await api(apiUrl, 'GET', '/api/v4/nodes');
  ok(r);
  assert.deepEqual(r.body.data.map((n: { node: string }) => n.node).sort(), NODE_NAMES);
  assert.equal((await api(apiUrl, 'GET', '/api/v4/nodes', { auth: 'admin:wrong' })).status, 401);
  const status = await fetch(`${apiUrl}/status`);
  assert.equal(status.status, 200);
  assert.match(await status.text(), /is running/);
});

it('Prometheus runs with deploy/prometheus.yml and targets both gateways', BOUNDED, async () => {
  const gateways = ['gw1', 'gw2'].map((g) => ({ gateway: g, url: `http://127.0.0.1:${c.row(g).port}/metrics` }));
  await eventually(async () => {
    const res = await fetch(`http://127.0.0.1:${c.ports.prometheus}/api/v1/targets`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; data: { activeTargets: { scrapeUrl: string; labels: Record<string, string> }[] } };
    assert.equal(body.status, 'success');
    const seen = body.data.activeTargets
      .filter((t) => t.labels.job === 'starling-gateway')
      .map((t) => ({ gateway: t.labels.gateway, url: t.scrapeUrl }))
      .sort((a, b) => a.gateway!.localeCompare(b.gateway!));
    assert.deepEqual(seen, gateways);
  }, 15_000, 200);
});

it('kill -9 of a gateway: HAProxy marks it down through /status and every API call keeps succeeding', BOUNDED, async () => {
  assert.equal(await haproxyStatus('gateways', 'gw1'), 'UP');
  assert.equal(await haproxyStatus('gateways', 'gw2'), 'UP');
  process.kill(c.row('gw1').pid, 'SIGKILL');
  const calls: number[] = [];
  const call = async () => {
    const r = await api(apiUrl, 'GET', '/api/v4/nodes');
    calls.push(r.status);
    ok(r);
    assert.equal(r.body.data.length, 3);
  };
  // from the kill on, through HAProxy's marking the gateway down and after it
  await eventually(async () => {
    await call();
    assert.match(await haproxyStatus('gateways', 'gw1'), /^DOWN/);
  }, 10_000, 50);
  for (let i = 0; i < 30; i++) await call();
  assert.ok(calls.every((s) => s === 200), `statuses: ${calls.join(',')}`);
  assert.equal(await haproxyStatus('gateways', 'gw2'), 'UP');
  // the launcher reports the death and keeps the rest running
  await eventually(() => assert.match(c.stderr(), /gw1 \(pid \d+\) exited \(signal SIGKILL\)/), 5000);
  assert.ok(processGroup(c.pid).includes(c.row('gw2').pid));
});

it('SIGTERM stops every process it started and frees every port', BOUNDED, async () => {
  await closeAllClients();
  const status = await c.stop(20_000);
  assert.deepEqual(status, { code: 0, signal: null }, c.stderr());
  await eventually(() => assert.deepEqual(processGroup(c.pid), []), 5000);
  for (const row of c.rows) assert.ok(await isPortFree(row.port), `${row.name} port ${row.port} is free again`);
});
