// starling-ctl's plugins, modules, listeners, metrics, stats and alarms commands (a real
// child process) against a real gateway over a real three-node cluster: the tables and
// --json show what the API answers, and loading or unloading a plugin or module through
// the CLI changes the state every node reports.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, fullName, startCluster, type TestCluster } from '../support/cluster.js';
import { jsonOf as json, runCli, shown, succeeded, type CliRun } from '../support/cli.js';
import { api, startGateway, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
let client: TestClient;
const NODES = ['n1', 'n2', 'n3'].map(fullName);

before(async () => {
  c = await startCluster(['n1', 'n2', 'n3']);
  gw = await startGateway(c);
  client = await connectClient(tcpUrl(c.node('n1').mqttPort), { clientId: uid('cli-obs') });
});

after(async () => {
  await closeAllClients();
  await gw?.stop();
  await c?.stop();
});

const ctl = (...args: string[]): Promise<CliRun> => runCli(['--url', gw!.url, ...args]);
const get = async (path: string): Promise<any> => (await api(gw!.url, 'GET', `/api/v4${path}`)).body; // eslint-disable-line @typescript-eslint/no-explicit-any
const enc = encodeURIComponent;

function table(r: CliRun): string[][] {
  return succeeded(r)
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ {2,}/));
}

describe('listeners', () => {
  it('lists each node\'s listeners with their live connection count', async () => {
    const rows = table(await ctl('listeners'));
    assert.deepEqual(rows[0], ['NODE', 'PROTOCOL', 'LISTEN ON', 'CONNECTIONS', 'MAX', 'ACCEPTORS', 'SHUTDOWNS']);
    for (const short of ['n1', 'n2', 'n3']) {
      const tcp = rows.find((r) => r[0] === fullName(short) && r[1] === 'mqtt:tcp');
      assert.ok(tcp, `${short}'s mqtt:tcp listener in ${JSON.stringify(rows)}`);
      assert.match(tcp[2]!, new RegExp(`(^|:)${c!.node(short).mqttPort}$`));
    }
    const n1 = json(await ctl('listeners', '--node', fullName('n1'), '--json')) as { protocol: string; current_conns: number }[];
    assert.ok(n1.find((l) => l.protocol === 'mqtt:tcp')!.current_conns >= 1, JSON.stringify(n1));
    const cli = json(await ctl('listeners', '--json')) as { node: string; listeners: { protocol: string; listen_on: string }[] }[];
    const api4 = (await get('/listeners')).data as typeof cli;
    const shape = (d: typeof cli): string[] => d.flatMap((n) => n.listeners.map((l) => `${n.node} ${l.protocol} ${l.listen_on}`));
    assert.deepEqual(shape(cli), shape(api4));
    assert.deepEqual(cli.map((n) => n.node).sort(), NODES);
  });
});

describe('metrics and stats', () => {
  it('metrics: a row per metric, a column per node, moved by real traffic', async () => {
    const before = json(await ctl('metrics', '--node', fullName('n1'), '--json'))['messages.received'] as number;
    for (let i = 0; i < 5; i++) await client.publish(`cli/obs/${i}`, 'x', { qos: 1 });
    await eventually(async () => {
      const now = json(await ctl('metrics', '--node', fullName('n1'), '--json'))['messages.received'] as number;
      assert.ok(now >= before + 5, `messages.received ${before} → ${now}`);
    });
    const rows = table(await ctl('metrics'));
    assert.deepEqual(rows[0], ['NAME', ...NODES]);
    const received = rows.find((r) => r[0] === 'messages.received');
    assert.ok(received && received.slice(1).every((v) => /^\d+$/.test(v.trim())), JSON.stringify(received));
    assert.ok(Number(received[1]) >= before + 5);
    const cli = json(await ctl('metrics', '--json')) as { node: string; metrics: Record<string, number> }[];
    const api4 = (await get('/metrics')).data as typeof cli;
    assert.deepEqual(cli.map((n) => n.node), api4.map((n) => n.node));
    assert.deepEqual(cli.map((n) => Object.keys(n.metrics).sort()), api4.map((n) => Object.keys(n.metrics).sort()));
  });

  it('stats: connections counted on the client\'s node', async () => {
    const n1 = json(await ctl('stats', '--node', fullName('n1'), '--json')) as Record<string, number>;
    assert.ok(n1['connections.count']! >= 1, JSON.stringify(n1));
    assert.ok(n1['connections.max']! >= n1['connections.count']!);
    const rows = table(await ctl('stats'));
    assert.deepEqual(rows[0], ['NAME', ...NODES]);
    assert.ok(rows.some((r) => r[0] === 'connections.max'));
    assert.deepEqual((json(await ctl('stats', '--json')) as { node: string }[]).map((n) => n.node), ((await get('/stats')).data as { node: string }[]).map((n) => n.node));
  });
});

describe('alarms', () => {
  it('lists each node\'s alarms, all or by state, cluster-wide or on one node', async () => {
    const rows = table(await ctl('alarms'));
    assert.deepEqual(rows[0], ['NODE', 'NAME', 'ACTIVATED', 'ACTIVATE AT', 'DEACTIVATE AT', 'MESSAGE', 'DETAILS']);
    const all = json(await ctl('alarms', '--json')) as { node: string; alarms: unknown[] }[];
    assert.deepEqual(all.map((n) => n.node).sort(), NODES);
    for (const state of ['activated', 'deactivated']) {
      const cli = json(await ctl('alarms', state, '--json')) as { node: string; alarms: { name: string; activated: boolean }[] }[];
      assert.deepEqual(cli.map((n) => n.node).sort(), NODES);
      for (const n of cli) for (const a of n.alarms) assert.equal(a.activated, state === 'activated', JSON.stringify(a));
      const one = json(await ctl('alarms', state, '--node', fullName('n2'), '--json'));
      assert.ok(Array.isArray(one), JSON.stringify(one));
      assert.deepEqual(
        one.map((a: { name: string }) => a.name),
        ((await get(`/nodes/${enc(fullName('n2'))}/alarms/${state}`)).data as { name: string }[]).map((a) => a.name),
      );
    }
  });
});

/** Features that must stay loaded for the test to talk to the cluster at all. */
const KEEP = new Set(['emqx_management', 'emqx_dashboard']);

interface Feature {
  name: string;
  active: boolean;
}

describe('plugins', () => {
  const states = async (node: string): Promise<Map<string, boolean>> =>
    new Map((json(await ctl('plugins', 'list', '--node', node, '--json')) as Feature[]).map((p) => [p.name, p.active]));

  it('list shows every node\'s plugins; --json is the API\'s data', async () => {
    const rows = table(await ctl('plugins', 'list'));
    assert.deepEqual(rows[0], ['NODE', 'NAME', 'VERSION', 'TYPE', 'ACTIVE', 'DESCRIPTION']);
    for (const n of NODES) assert.ok(rows.some((r) => r[0] === n), `${n} in ${JSON.stringify(rows)}`);
    const cli = json(await ctl('plugins', 'list', '--json')) as { node: string; plugins: Feature[] }[];
    const api4 = (await get('/plugins')).data as typeof cli;
    assert.deepEqual(cli, api4);
  });

  it('unload and load switch one plugin on one node only; doing it twice is 111 / 110', async (t) => {
    const n2 = fullName('n2');
    const before = await states(n2);
    const name = ['emqx_retainer', 'emqx_delayed_publish'].find((p) => before.get(p) === true) ?? [...before].find(([p, on]) => on && !KEEP.has(p))?.[0];
    assert.ok(name, `an active plugin to switch in ${JSON.stringify([...before])}`);
    t.after(() => ctl('plugins', 'load', n2, name));

    const un = await ctl('plugins', 'unload', n2, name);
    assert.equal(un.code, 0, shown(un));
    assert.equal(un.stdout, `plugin ${name} unloaded on ${n2}\n`);
    assert.equal((await states(n2)).get(name), false);
    assert.equal((await states(fullName('n1'))).get(name), before.get(name), 'n1 untouched');
    const again = await ctl('plugins', 'unload', n2, name);
    assert.equal(again.code, 1, shown(again));
    assert.match(again.stderr, /code 111 \(plugin unloaded\)/);

    assert.equal((await ctl('plugins', 'load', n2, name)).code, 0);
    assert.equal((await states(n2)).get(name), true);
    const twice = await ctl('plugins', 'load', n2, name);
    assert.equal(twice.code, 1, shown(twice));
    assert.match(twice.stderr, /code 110 \(plugin loaded\)/);

    const re = await ctl('plugins', 'reload', n2, name);
    assert.equal(re.code, 0, shown(re));
    assert.equal((await states(n2)).get(name), true);
  });

  it('an unknown plugin or node fails with a message naming it', async () => {
    const r = await ctl('plugins', 'load', fullName('n1'), 'emqx_no_such_plugin');
    assert.notEqual(r.code, 0, shown(r));
    assert.match(r.stderr, /^starling-ctl: error: PUT \/api\/v4\/nodes\/n1%40127\.0\.0\.1\/plugins\/emqx_no_such_plugin\/load: /);
    const n = await ctl('plugins', 'list', '--node', 'nope@nowhere');
    assert.equal(n.code, 5, shown(n));
    assert.match(n.stderr, /node nope@nowhere not found/);
  });
});

describe('modules', () => {
  /** node → the module's state there */
  const states = async (module: string): Promise<Record<string, boolean | undefined>> => {
    const data = json(await ctl('modules', 'list', '--json')) as { node: string; modules: Feature[] }[];
    return Object.fromEntries(data.map((n) => [n.node, n.modules.find((m) => m.name === module)?.active]));
  };
  const everywhere = (on: boolean): Record<string, boolean> => Object.fromEntries(NODES.map((n) => [n, on]));

  it('list shows every node\'s modules; --json is the API\'s data', async () => {
    const rows = table(await ctl('modules', 'list'));
    assert.deepEqual(rows[0], ['NODE', 'NAME', 'ACTIVE', 'DESCRIPTION']);
    for (const n of NODES) assert.ok(rows.some((r) => r[0] === n), `${n} in ${JSON.stringify(rows)}`);
    assert.deepEqual(json(await ctl('modules', 'list', '--json')), (await get('/modules')).data);
    assert.deepEqual(json(await ctl('modules', 'list', '--node', fullName('n3'), '--json')), (await get(`/nodes/${enc(fullName('n3'))}/modules`)).data);
  });

  it('unload and load cluster-wide reach every node; with --node only that one', async (t) => {
    const data = json(await ctl('modules', 'list', '--node', fullName('n1'), '--json')) as Feature[];
    const name = data.find((m) => /presence/.test(m.name) && m.active)?.name ?? data.find((m) => m.active && !KEEP.has(m.name))?.name;
    assert.ok(name, `an active module to switch in ${JSON.stringify(data)}`);
    assert.deepEqual(await states(name), everywhere(true));
    t.after(async () => {
      if (Object.values(await states(name)).some((on) => !on)) await ctl('modules', 'load', name);
    });

    const un = await ctl('modules', 'unload', name);
    assert.equal(un.code, 0, shown(un));
    assert.equal(un.stdout, `module ${name} unloaded on every node\n`);
    await eventually(async () => assert.deepEqual(await states(name), everywhere(false)), 3000);

    assert.equal((await ctl('modules', 'load', name, '--node', fullName('n2'))).code, 0);
    await eventually(async () => assert.deepEqual(await states(name), { ...everywhere(false), [fullName('n2')]: true }), 3000);
    assert.equal((await ctl('modules', 'unload', name, '--node', fullName('n2'))).code, 0);
    await eventually(async () => assert.deepEqual(await states(name), everywhere(false)), 3000);

    const load = await ctl('modules', 'load', name);
    assert.equal(load.code, 0, shown(load));
    await eventually(async () => assert.deepEqual(await states(name), everywhere(true)), 3000);
  });
});
