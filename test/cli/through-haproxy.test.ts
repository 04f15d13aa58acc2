// starling-ctl as an SRE uses it on the deployable topology (`npm run cluster`: 3 nodes,
// 2 gateways, HAProxy in front of both): against HAProxy's API port it sees the three
// nodes, and kicks a client that connected through HAProxy's MQTT port, whichever node it
// landed on; with one gateway killed, HAProxy sends the CLI to the other.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { jsonOf, runCli, shown } from '../support/cli.js';
import { launchCluster, type LaunchedCluster } from '../support/local-cluster.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';

const BOUNDED = { timeout: 60_000 };

let c: LaunchedCluster;

before(async () => {
  c = await launchCluster();
}, { timeout: 120_000 });

after(async () => {
  await closeAllClients();
  if (c) {
    await c.stop(15_000);
    await c.destroy();
  }
}, { timeout: 60_000 });

const ctl = (...args: string[]) => runCli(args, { STARLING_API_URL: `http://127.0.0.1:${c.ports.api}` });

it('cluster lists the three nodes through HAProxy', BOUNDED, async () => {
  const nodes = jsonOf(await ctl('cluster', '--json')) as { node: string; node_status: string }[];
  assert.deepEqual(nodes.map((n) => n.node).sort(), ['n1@127.0.0.1', 'n2@127.0.0.1', 'n3@127.0.0.1']);
  for (const n of nodes) assert.equal(n.node_status, 'Running');
});

it('clients kick disconnects a client connected through HAProxy, on whichever node it is', BOUNDED, async (t) => {
  const clients = await Promise.all([0, 1, 2].map(() => connectClient(tcpUrl(c.ports.mqtt), { clientId: uid('cli-lb') }, t)));
  const rows = jsonOf(await ctl('clients', 'list', '--like', 'cli-lb', '--json')) as { clientid: string; node: string }[];
  assert.deepEqual(rows.map((r) => r.clientid).sort(), clients.map((x) => x.clientId).sort());
  // leastconn spreads them, so the kicks below reach more than one node
  assert.ok(new Set(rows.map((r) => r.node)).size > 1, JSON.stringify(rows));
  for (const client of clients) {
    const r = await ctl('clients', 'kick', client.clientId);
    assert.equal(r.code, 0, shown(r));
    await client.waitClose();
    const show = await ctl('clients', 'show', client.clientId);
    assert.equal(show.code, 5, shown(show));
    assert.match(show.stderr, /is not online/);
  }
});

it('with one gateway killed, the CLI keeps working through HAProxy', BOUNDED, async () => {
  process.kill(c.row('gw1').pid, 'SIGKILL');
  // every call succeeds, whether HAProxy has noticed yet or redispatches to the other gateway
  for (let i = 0; i < 5; i++) assert.equal((jsonOf(await ctl('cluster', '--json')) as unknown[]).length, 3);
  const s = await ctl('status');
  assert.equal(s.code, 0, shown(s));
});
