// The launcher's failures: a process that dies while the cluster starts stops everything
// already started and exits non-zero; a port already taken stops it before it starts anything.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, it } from 'node:test';
import { launchCluster, processGroup, type LaunchedCluster } from '../support/local-cluster.js';
import { withTimeout } from '../support/mqtt-clients.js';
import { isPortFree } from '../support/ports.js';
import { eventually } from '../support/wait.js';

const BOUNDED = { timeout: 90_000 };
const started: LaunchedCluster[] = [];

after(async () => {
  await Promise.all(started.map((c) => c.destroy()));
}, { timeout: 30_000 });

it('a node that dies at start stops nats-server and redis-server and exits 1', BOUNDED, async () => {
  // a setting every node refuses (exit 2), after nats-server and redis-server are up
  const c = await launchCluster({ env: { STARLING_NATS_MAX_BACKLOG_MB: '0' }, waitReady: false });
  started.push(c);
  const status = await withTimeout(c.exited, 60_000, 'the launcher exits');
  assert.deepEqual(status, { code: 1, signal: null }, c.stderr());
  assert.match(c.stderr(), /n[123] exited \(code 2\) before started/);
  assert.match(c.stderr(), /natsMaxBacklogMb/, 'the node log tail is shown');
  assert.doesNotMatch(c.stdout(), /cluster ready/);
  await eventually(() => assert.deepEqual(processGroup(c.pid), []), 5000);
  assert.ok(await isPortFree(c.ports.nats), 'nats-server stopped');
  assert.ok(await isPortFree(c.ports.redis), 'redis-server stopped');
});

it('a port in use: a message naming its setting, exit 2, nothing started', BOUNDED, async () => {
  const taken: Server = await new Promise((resolve) => {
    const s = createServer();
    s.listen({ host: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const port = (taken.address() as { port: number }).port;
  try {
    const c = await launchCluster({ env: { CLUSTER_PROMETHEUS_PORT: String(port) }, waitReady: false });
    started.push(c);
    assert.deepEqual(await withTimeout(c.exited, 30_000, 'the launcher exits'), { code: 2, signal: null });
    assert.match(c.stderr(), new RegExp(`port ${port} on 127.0.0.1 is in use \\(CLUSTER_PROMETHEUS_PORT\\)`));
    assert.deepEqual(processGroup(c.pid), []);
  } finally {
    await new Promise((r) => taken.close(r));
  }
});
