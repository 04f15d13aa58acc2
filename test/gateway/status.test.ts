// GET /status, the load balancer health check, through real gateway processes: EMQX's
// plain text, 200 "is running" while a node answers, 503 "is not_running" while none does.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { api, startGateway, type ApiAnswer, type GatewayProcess } from '../support/gateway.js';

/** A three-node cluster, and a cluster (NATS and Redis) with no node at all. */
let full: TestCluster | undefined;
let empty: TestCluster | undefined;
let gwFull: GatewayProcess | undefined;
let gwEmpty: GatewayProcess | undefined;

before(async () => {
  const started = await Promise.allSettled([startCluster(['n1', 'n2', 'n3']), startCluster([])]);
  [full, empty] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
  for (const s of started) if (s.status === 'rejected') throw s.reason;
  [gwFull, gwEmpty] = await Promise.all([startGateway(full!), startGateway(empty!)]);
});

after(async () => {
  await Promise.allSettled([gwFull?.stop(), gwEmpty?.stop()]);
  await Promise.allSettled([full?.stop(), empty?.stop()]);
});

// no credentials: a health check is open, as EMQX's is
const status = (gw: GatewayProcess): Promise<ApiAnswer> => api(gw.url, 'GET', '/status', { auth: null });

function running(r: ApiAnswer): void {
  assert.equal(r.status, 200, String(r.body));
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  assert.match(r.body, /^Node n\d@127\.0\.0\.1 is started\nemqx is running\n$/);
}

function notRunning(r: ApiAnswer): void {
  assert.equal(r.status, 503, String(r.body));
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  assert.match(r.body, /^Node \S+ is started\nemqx is not_running\n$/);
}

it('200 "emqx is running" while the nodes live, with or without credentials', async () => {
  running(await status(gwFull!));
  running(await api(gwFull!.url, 'GET', '/status', { auth: 'admin:wrong' }));
});

it('503 "emqx is not_running" from a gateway whose cluster has no live node', async () => {
  notRunning(await status(gwEmpty!));
});

it('follows the nodes: 200 once one starts, 503 again once it stops', async () => {
  const n = await empty!.startNode('solo');
  const r = await eventually(async () => {
    const s = await status(gwEmpty!);
    assert.equal(s.status, 200);
    return s;
  });
  assert.match(r.body, /^Node solo@127\.0\.0\.1 is started\nemqx is running\n$/);
  await n.stop();
  notRunning(await eventually(async () => {
    const s = await status(gwEmpty!);
    assert.equal(s.status, 503);
    return s;
  }));
});

it('still 200 with one node of three killed (another node answers)', async () => {
  await full!.node('n1').kill9();
  running(await status(gwFull!));
  // and once n1 has left the registry
  await new Promise((r) => setTimeout(r, 800));
  running(await status(gwFull!));
});
