// The alarms API (GET /api/v4/alarms..., POST and DELETE /alarms/deactivated) through a
// real gateway on a real three-node cluster, with alarms really raised and cleared by the
// nodes' monitors: thresholds lowered at runtime over RPC (alarms.configure, as an operator
// tool would), the spec's shapes and microsecond timestamps, the $SYS/brokers/<node>/alarms/*
// messages a subscriber sees, and a node crashing under the gateway.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AlarmRow, AlarmThresholds } from '../../shared/api/alarms.js';
import { RpcError } from '../../shared/rpc.js';
import { eventually, fullName, RPC_TIMEOUT_MS, startCluster, type TestCluster } from '../support/cluster.js';
import { api, fails, ok, startGateway, type ApiAnswer, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';

// Watermarks no machine reaches, so that only what a test lowers raises an alarm.
const QUIET: Record<string, string> = {
  STARLING_ALARM_SYSMEM_HIGH_WATERMARK: '100',
  STARLING_ALARM_PROCMEM_HIGH_WATERMARK: '100',
  STARLING_ALARM_CPU_HIGH_WATERMARK: '100',
  STARLING_ALARM_CPU_LOW_WATERMARK: '100',
  STARLING_ALARM_CONNS_HIGH_WATERMARK: '100',
};

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
let watcher: TestClient | undefined;

before(async () => {
  c = await startCluster(['n1', 'n2', 'n3'], QUIET);
  gw = await startGateway(c);
  // on n2: alarms raised on n1 reach it through the cluster, as any $SYS message
  watcher = await connectClient(tcpUrl(c.node('n2').mqttPort), { clientId: uid('alarm-watch') });
  await watcher.subscribe('$SYS/brokers/+/alarms/#');
});

after(async () => {
  await closeAllClients();
  await gw?.stop();
  await c?.stop();
});

const N1 = fullName('n1');
const N2 = fullName('n2');
const N3 = fullName('n3');
const SYSMEM = 'high_system_memory_usage';

const call = (method: string, path: string, body?: unknown): Promise<ApiAnswer> => api(gw!.url, method, `/api/v4${path}`, body === undefined ? {} : { body });
const get = (path: string): Promise<ApiAnswer> => call('GET', path);

const configure = (node: string, t: Partial<AlarmThresholds>): Promise<AlarmThresholds> => c!.transport.request(node, 'alarms.configure', t, RPC_TIMEOUT_MS);

/** The cluster form as node → alarms, after checking its shape. */
async function byNode(path: string): Promise<Record<string, AlarmRow[]>> {
  const r = await get(path);
  ok(r);
  const out: Record<string, AlarmRow[]> = {};
  for (const n of r.body.data as { node: string; alarms: AlarmRow[] }[]) {
    assert.deepEqual(Object.keys(n).sort(), ['alarms', 'node']);
    for (const a of n.alarms) assertAlarm(a);
    out[n.node] = n.alarms;
  }
  return out;
}

async function onNode(node: string, path: string): Promise<AlarmRow[]> {
  const r = await get(`/nodes/${encodeURIComponent(node)}${path}`);
  ok(r);
  for (const a of r.body.data as AlarmRow[]) assertAlarm(a);
  return r.body.data as AlarmRow[];
}

/** The spec's example keys and types; microsecond timestamps near now. */
function assertAlarm(a: AlarmRow): void {
  assert.deepEqual(Object.keys(a).sort(), ['activate_at', 'activated', 'deactivate_at', 'details', 'message', 'name']);
  assert.equal(typeof a.name, 'string');
  assert.equal(typeof a.message, 'string');
  assert.equal(typeof a.details, 'object');
  assert.ok(Number.isSafeInteger(a.activate_at), `activate_at ${a.activate_at}`);
  // microseconds: within a minute of now (milliseconds or seconds would be far off)
  assert.ok(Math.abs(a.activate_at - Date.now() * 1000) < 60_000_000, `activate_at ${a.activate_at} is no recent microsecond time`);
  if (a.activated) assert.equal(a.deactivate_at, 'infinity');
  else {
    assert.ok(Number.isSafeInteger(a.deactivate_at), `deactivate_at ${a.deactivate_at}`);
    assert.ok((a.deactivate_at as number) >= a.activate_at);
  }
}

const named = (rows: AlarmRow[] | undefined, name: string): AlarmRow[] => (rows ?? []).filter((a) => a.name === name);

describe('alarms raised and cleared by a node', () => {
  it('GET /alarms: one {node, alarms} per node, [] while nothing is raised', async () => {
    const all = await byNode('/alarms');
    assert.deepEqual(Object.keys(all), [N1, N2, N3]);
    for (const rows of Object.values(all)) assert.deepEqual(rows, []);
  });

  it('lowering the system memory watermark to 0 on n1 raises high_system_memory_usage there only, as the spec shows it', async () => {
    const from = watcher!.mark();
    const t = await configure(N1, { sysmemHighWatermark: 0 });
    assert.equal(t.sysmemHighWatermark, 0);
    const active = await byNode('/alarms/activated');
    assert.deepEqual(active[N2], []);
    assert.deepEqual(active[N3], []);
    const [a] = named(active[N1], SYSMEM);
    assert.ok(a, JSON.stringify(active));
    assert.equal(a.message, 'System memory usage is higher than 0%');
    assert.deepEqual(a.details, { high_watermark: 0 });
    assert.equal(a.deactivate_at, 'infinity');
    assert.equal(a.activated, true);
    // the same on the per-node forms
    assert.deepEqual(named(await onNode(N1, '/alarms/activated'), SYSMEM), [a]);
    assert.deepEqual(named(await onNode(N1, '/alarms'), SYSMEM), [a]);
    assert.deepEqual(await onNode(N1, '/alarms/deactivated'), []);
    // and published on $SYS as EMQX does, seen by a subscriber on another node
    const m = await watcher!.waitForMessage(`$SYS/brokers/${N1}/alarms/activate`, { from });
    assert.deepEqual(JSON.parse(m.payload), a);
    // raising it again (a check with the same watermark) changes nothing
    await configure(N1, { sysmemHighWatermark: 0 });
    assert.deepEqual(named(await onNode(N1, '/alarms/activated'), SYSMEM), [a]);
  });

  it('raising the watermark back clears it: it moves to /alarms/deactivated with both timestamps', async () => {
    const [was] = named(await onNode(N1, '/alarms/activated'), SYSMEM);
    const from = watcher!.mark();
    await configure(N1, { sysmemHighWatermark: 100 });
    assert.deepEqual(named(await onNode(N1, '/alarms/activated'), SYSMEM), []);
    const history = await byNode('/alarms/deactivated');
    const [d] = named(history[N1], SYSMEM);
    assert.ok(d, JSON.stringify(history));
    assert.deepEqual(history[N2], []);
    assert.equal(d.activate_at, was!.activate_at);
    assert.equal(d.activated, false);
    assert.equal(typeof d.deactivate_at, 'number');
    assert.equal(d.message, was!.message);
    assert.deepEqual(d.details, was!.details);
    // GET /alarms lists the history too
    assert.deepEqual(named((await byNode('/alarms'))[N1], SYSMEM), [d]);
    const m = await watcher!.waitForMessage(`$SYS/brokers/${N1}/alarms/deactivate`, { from });
    assert.deepEqual(JSON.parse(m.payload), d);
  });

  it('POST /alarms/deactivated deactivates an active alarm on the named node; not active is 404, missing fields 107', async () => {
    await configure(N2, { sysmemHighWatermark: 0 });
    assert.equal(named(await onNode(N2, '/alarms/activated'), SYSMEM).length, 1);
    ok(await call('POST', '/alarms/deactivated', { node: N2, name: SYSMEM }), ['code']);
    assert.deepEqual(named(await onNode(N2, '/alarms/activated'), SYSMEM), []);
    assert.equal(named(await onNode(N2, '/alarms/deactivated'), SYSMEM).length, 1);
    fails(await call('POST', '/alarms/deactivated', { node: N2, name: SYSMEM }), 404, 404);
    fails(await call('POST', '/alarms/deactivated', { node: 'nobody@127.0.0.1', name: SYSMEM }), 404, 404);
    fails(await call('POST', '/alarms/deactivated', { node: N2 }), 400, 107);
    fails(await call('POST', '/alarms/deactivated', { name: SYSMEM }), 400, 107);
    await configure(N2, { sysmemHighWatermark: 100 });
  });

  it('DELETE /nodes/{node}/alarms/deactivated clears that node’s history, DELETE /alarms/deactivated every node’s', async () => {
    for (const n of [N1, N2, N3]) {
      await configure(n, { sysmemHighWatermark: 0 });
      await configure(n, { sysmemHighWatermark: 100 });
    }
    let history = await byNode('/alarms/deactivated');
    for (const n of [N1, N2, N3]) assert.ok(named(history[n], SYSMEM).length >= 1, n);
    ok(await call('DELETE', `/nodes/${N3}/alarms/deactivated`), ['code']);
    history = await byNode('/alarms/deactivated');
    assert.deepEqual(history[N3], []);
    assert.ok(history[N1]!.length >= 1 && history[N2]!.length >= 1);
    ok(await call('DELETE', '/alarms/deactivated'), ['code']);
    history = await byNode('/alarms/deactivated');
    for (const n of [N1, N2, N3]) assert.deepEqual(history[n], [], n);
    fails(await call('DELETE', '/nodes/nobody@127.0.0.1/alarms/deactivated'), 404, 404);
  });

  it('connections over a listener’s watermark raise too_many_connections/<listener>, cleared when they go', async (t) => {
    await configure(N3, { connsHighWatermark: 0, checkIntervalMs: 100 });
    t.after(() => configure(N3, { connsHighWatermark: 100, checkIntervalMs: 60_000 }));
    const name = 'too_many_connections/mqtt:tcp';
    const cl = await connectClient(tcpUrl(c!.node('n3').mqttPort), { clientId: uid('alarm-conn') }, t);
    const [a] = await eventually(async () => {
      const rows = named(await onNode(N3, '/alarms/activated'), name);
      assert.equal(rows.length, 1);
      return rows;
    });
    assert.equal(a!.details.listener, 'mqtt:tcp');
    assert.equal(a!.details.listen_on, `127.0.0.1:${c!.node('n3').mqttPort}`);
    assert.equal(a!.details.max_conns, 1024000);
    assert.equal(a!.details.high_watermark, 0);
    assert.ok((a!.details.current_conns as number) >= 1);
    await cl.end();
    await eventually(async () => {
      assert.deepEqual(named(await onNode(N3, '/alarms/activated'), name), []);
      assert.equal(named(await onNode(N3, '/alarms/deactivated'), name).length, 1);
    });
  });

  it('the process memory and CPU watermarks raise high_process_memory_usage and high_cpu_usage with EMQX’s details', async (t) => {
    await configure(N2, { procmemHighWatermark: 0, cpuHighWatermark: 0, cpuLowWatermark: 0, checkIntervalMs: 100 });
    t.after(() => configure(N2, { procmemHighWatermark: 100, cpuHighWatermark: 100, cpuLowWatermark: 100, checkIntervalMs: 60_000 }));
    const proc = named(await onNode(N2, '/alarms/activated'), 'high_process_memory_usage')[0];
    assert.ok(proc);
    assert.equal(proc.message, 'Process memory usage is higher than 0%');
    assert.deepEqual(Object.keys(proc.details).sort(), ['high_watermark', 'pid']);
    assert.equal(proc.details.high_watermark, 0);
    assert.match(String(proc.details.pid), /^\d+$/);
    // CPU is measured over a check interval: raised at the next check that saw any work
    const [cpu] = await eventually(async () => {
      const rows = named(await onNode(N2, '/alarms/activated'), 'high_cpu_usage');
      assert.equal(rows.length, 1);
      return rows;
    });
    assert.deepEqual(Object.keys(cpu!.details).sort(), ['high_watermark', 'low_watermark', 'usage']);
    const usage = cpu!.details.usage as number;
    assert.ok(usage > 0 && usage <= 100, `usage ${usage}`);
    assert.equal(cpu!.message, `${usage}% cpu usage`);
    assert.deepEqual([cpu!.details.high_watermark, cpu!.details.low_watermark], [0, 0]);
    // back to watermarks nothing reaches: the process alarm clears at once; the CPU one clears
    // only under its low watermark, which a saturated machine (100%) never is, so it is
    // deactivated by hand here (the unit tests drive the clearing rule with a probe)
    // (and no timed check until the next minute, so nothing races the POST)
    await configure(N2, { procmemHighWatermark: 100, cpuHighWatermark: 100, cpuLowWatermark: 100, checkIntervalMs: 60_000 });
    const left = (await onNode(N2, '/alarms/activated')).map((a) => a.name);
    assert.ok(!left.includes('high_process_memory_usage'), JSON.stringify(left));
    if (left.includes('high_cpu_usage')) ok(await call('POST', '/alarms/deactivated', { node: N2, name: 'high_cpu_usage' }), ['code']);
    assert.deepEqual(await onNode(N2, '/alarms/activated'), []);
  });

  it('alarms.configure refuses thresholds that cannot hold (108) and changes nothing', async () => {
    const before1 = await configure(N1, {});
    for (const bad of [{ sysmemHighWatermark: 101 }, { cpuLowWatermark: 90, cpuHighWatermark: 80 }, { checkIntervalMs: 0 }]) {
      await assert.rejects(configure(N1, bad), (err: unknown) => err instanceof RpcError && err.code === 108);
    }
    assert.deepEqual(await configure(N1, {}), before1);
  });
});

// Last: it leaves n3 dead.
describe('a node crashing', () => {
  it('kill -9 n3: GET /alarms answers 101 naming n3, then 0 with the survivors once it is purged', async () => {
    await c!.node('n3').kill9();
    const r = await get('/alarms');
    fails(r, 200, 101);
    assert.match(r.body.message, /n3@127\.0\.0\.1/);
    const rows = await eventually(async () => byNode('/alarms'), 5000);
    assert.deepEqual(Object.keys(rows), [N1, N2]);
  });
});
