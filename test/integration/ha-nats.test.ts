/**
 * A two-node broker cluster over a NATS cluster of three servers (NATS_URL lists them all):
 * numbered QoS 1 and QoS 2 streams from a publisher on n1 to a subscriber on n2 while the
 * NATS server n1 is connected to is killed with SIGKILL, then the one n2 is on. The node
 * moves to another server by itself and resends what was not confirmed: every message
 * acknowledged to the publisher arrives, QoS 2 once, in order; an RPC during the loss answers
 * or fails with 101 within its timeout. What the failover cost is reported as test diagnostics.
 */
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { performance } from 'node:perf_hooks';
import { RpcError } from '../../shared/rpc.js';
import { eventually, fullName, RPC_TIMEOUT_MS, sleep, startCluster, type TestCluster } from '../support/cluster.js';
import { checkStream, startStream, streamCost, type HaStream } from '../support/ha-streams.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';

let c: TestCluster;

before(async () => {
  c = await startCluster(['n1', 'n2'], {}, {}, { natsServers: 3 });
});

after(async () => {
  await closeAllClients();
  await c?.stop();
});

/** An RPC answers or fails with code 101, within its timeout (never hangs). */
async function rpcBounded(node: string): Promise<string> {
  const t0 = performance.now();
  const outcome = await c.transport.request(fullName(node), 'nodes.get', {}, RPC_TIMEOUT_MS).then(
    () => 'answered',
    (err: unknown) => {
      assert.ok(err instanceof RpcError, String(err));
      assert.equal(err.code, 101, err.message);
      return `101 (${err.message})`;
    },
  );
  const ms = performance.now() - t0;
  assert.ok(ms < RPC_TIMEOUT_MS + 1000, `RPC to ${node} settled after ${ms.toFixed(0)} ms`);
  return `${outcome} after ${ms.toFixed(0)} ms`;
}

/** A subscriber on n2 and QoS 1 and QoS 2 streams to it from two publishers on n1, flowing. */
async function streams(t: TestContext, prefix: string): Promise<HaStream[]> {
  const sub = await connectClient(tcpUrl(c.node('n2').mqttPort), { clientId: uid('sub') }, t);
  await sub.subscribe([`${prefix}/q1`, `${prefix}/q2`], { qos: 2 });
  const pub1 = await connectClient(tcpUrl(c.node('n1').mqttPort), { clientId: uid('pub1') }, t);
  const pub2 = await connectClient(tcpUrl(c.node('n1').mqttPort), { clientId: uid('pub2') }, t);
  // the route reached n1
  await eventually(async () => {
    await pub1.publish(`${prefix}/q1`, 'probe', { qos: 1 });
    assert.ok(sub.messages(`${prefix}/q1`).length > 0);
  }, 5000, 50);
  return [startStream(pub1, sub, `${prefix}/q1`, 1), startStream(pub2, sub, `${prefix}/q2`, 2)];
}

/** Kills the NATS server `node` is on, a second into the streams; RPCs to both nodes meanwhile. */
async function killServerOf(t: TestContext, node: string): Promise<{ killedAt: number; victim: number }> {
  const nc = c.natsCluster!;
  const victim = await eventually(async () => {
    const i = await nc.serverOf(fullName(node));
    assert.ok(i >= 0, `${node} is on a NATS server`);
    return i;
  });
  await sleep(1000);
  const killedAt = performance.now();
  await nc.servers[victim]!.stop('SIGKILL');
  t.diagnostic(`killed nats-server #${victim + 1}, ${node}'s`);
  const rpcs = await Promise.all([rpcBounded('n1'), rpcBounded('n2')]);
  t.diagnostic(`RPC during the loss: n1 ${rpcs[0]}, n2 ${rpcs[1]}`);
  return { killedAt, victim };
}

/** Lets the streams run `ms` more, stops them and checks what arrived. */
async function finish(t: TestContext, qs: HaStream[], killedAt: number, ms: number): Promise<void> {
  await sleep(ms);
  for (const q of qs) q.stop();
  await Promise.all(qs.map((q) => q.done));
  // everything in flight has arrived
  await sleep(500);
  for (const q of qs) t.diagnostic(streamCost(q, killedAt));
  for (const q of qs) {
    checkStream(q);
    assert.ok(q.ackedAt.some((a) => a !== undefined && a > killedAt), `QoS ${q.qos} publishes acknowledged after the kill`);
  }
}

test("the publisher's node's NATS server killed under QoS 1 and QoS 2 streams: nothing acknowledged is lost", { timeout: 60_000 }, async (t) => {
  const qs = await streams(t, 'ha/a');
  const { killedAt, victim } = await killServerOf(t, 'n1');
  // n1 is on another server of the cluster again
  const movedMs = await eventually(async () => {
    const i = await c.natsCluster!.serverOf(fullName('n1'));
    assert.ok(i >= 0 && i !== victim, 'n1 reconnected to another server');
    return performance.now() - killedAt;
  }, 10_000, 20);
  t.diagnostic(`n1 reconnected to another NATS server ${movedMs.toFixed(0)} ms after the kill`);
  await finish(t, qs, killedAt, 2000);
  // and the RPCs answer again
  await eventually(async () => assert.match(await rpcBounded('n1'), /^answered/), 5000, 50);
});

test("then the subscriber's node's NATS server killed: nothing acknowledged is lost", { timeout: 60_000 }, async (t) => {
  const qs = await streams(t, 'ha/b');
  const { killedAt } = await killServerOf(t, 'n2');
  await finish(t, qs, killedAt, 3000);
  await eventually(async () => assert.match(await rpcBounded('n2'), /^answered/), 5000, 50);
});
