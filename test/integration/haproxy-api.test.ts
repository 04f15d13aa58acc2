/**
 * The API through deploy/haproxy.cfg with two gateways: a GET whose gateway dies while
 * answering it is answered by the other one, and while no gateway reaches the cluster (NATS
 * away) the answer is still the gateways' JSON code 101, not HAProxy's HTML 503.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { haproxyGateways, type ApiFrontend } from '../support/haproxy-gateways.js';
import { api } from '../support/gateway.js';
import { suspendProcess } from '../support/processes.js';
import { eventually, sleep } from '../support/wait.js';

/** HAProxy's status of one server of the `gateways` backend ("UP", "DOWN", "no check", ...). */
async function serverStatus(f: ApiFrontend, server: string): Promise<string> {
  const csv = await (await fetch(`${f.statsUrl}/;csv`)).text();
  const [header, ...rows] = csv.trim().split('\n');
  const cols = header!.replace(/^# /, '').split(',');
  const row = rows.map((r) => r.split(',')).find((r) => r[0] === 'gateways' && r[cols.indexOf('svname')] === server);
  return row?.[cols.indexOf('status')] ?? 'missing';
}

describe('the API behind HAProxy', { timeout: 90_000 }, () => {
  let c: TestCluster;
  let f: ApiFrontend;
  before(async () => {
    c = await startCluster(['n1']);
    f = await haproxyGateways(c, {});
  });
  after(async () => {
    await f?.stop();
    await c?.stop();
  });

  it('answers a GET whose gateway was killed while it waited, through the other gateway', async () => {
    // a hung gateway holds the requests sent to it; killed, it closes them with nothing answered
    await suspendProcess(f.gateways[0]!.proc.pid);
    const calls = Array.from({ length: 6 }, () => api(f.url, 'GET', '/api/v4/stats'));
    await sleep(300);
    await f.gateways[0]!.proc.kill('SIGKILL');
    for (const r of await Promise.all(calls)) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.code, 0);
    }
    await f.restartGateway!(0, 0);
  });

  it('answers code 101 in JSON while every gateway is cut off from the nodes', async () => {
    await c.nats.proc.kill('SIGKILL');
    try {
      await eventually(async () => {
        for (const s of ['gw1', 'gw2']) assert.equal(await serverStatus(f, s), 'DOWN');
      }, 20_000, 200);
      const r = await api(f.url, 'GET', '/api/v4/stats');
      assert.match(r.headers.get('content-type') ?? '', /application\/json/, String(r.body));
      assert.equal(r.body.code, 101, JSON.stringify(r.body));
    } finally {
      await c.nats.start();
    }
  });
});
