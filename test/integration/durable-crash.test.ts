/**
 * Durable sessions across a node crash (README "Durable sessions"): a persistent subscriber
 * on n1, a publisher on n2 sending a numbered stream; n1 is killed with SIGKILL mid-stream
 * and the subscriber resumes on n3 with everything the publisher was told was delivered,
 * in order, QoS 2 exactly once.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { useCluster } from '../support/cluster.js';
import { connectClient, sleep, tcpUrl, uid, type QoS } from '../support/mqtt-clients.js';
import { arrivals, check, roamingClient, startNumberedStream, until } from '../support/durable.js';

const cluster = useCluster(['n1', 'n2', 'n3']);

/** n1 again, for the next test (it was killed). */
async function restartN1(): Promise<void> {
  await cluster.c.node('n1').kill9();
  cluster.c.nodes.delete('n1');
  await cluster.c.startNode('n1');
}

/**
 * What the subscriber must get: every message acknowledged to the publisher, in order, QoS 2
 * once. The publisher stops when n1 dies: what it sends afterwards, until the subscriber is
 * back, has no route (see README "Durable sessions", what is not covered). The one message
 * in flight to n1 at the kill may be acknowledged by forwarding's give-up without having
 * been stored; it is reported, not counted.
 */
async function crashMidStream(t: TestContext, qos: QoS, opts: { offline: boolean }): Promise<void> {
  if (!cluster.c.node('n1').proc.alive) await restartN1();
  const topic = uid('dur/stream');
  const clientId = uid('dur-sub');
  const ports = [cluster.c.node('n1').mqttPort, cluster.c.node('n3').mqttPort];
  const sub = await roamingClient(ports, { clientId }, t);
  const got = arrivals(sub, topic);
  await sub.subscribeAsync(topic, { qos });
  const pub = await connectClient(tcpUrl(cluster.c.node('n2').mqttPort), { clientId: uid('dur-pub') }, t);
  // the route reaches n2 once a probe gets through
  let probes = 0;
  sub.on('message', (tp, payload) => {
    if (tp === topic && payload.toString().startsWith('probe')) probes++;
  });
  for (let k = 0; probes === 0; k++) {
    await pub.publish(topic, `probe-${k}`, { qos: 1 });
    await sleep(50);
  }
  let stream = startNumberedStream(pub, topic, qos, { count: 400 });
  await stream.ackedAtLeast(100);
  let later = got;
  let earlier: number[] = [];
  if (opts.offline) {
    // the subscriber leaves between two messages (its session stays on n1), messages queue
    // for it there, then n1 dies
    await stream.stop();
    earlier = stream.acked;
    await until(() => check(earlier, got).missing.length === 0, 10_000, 'the first part');
    await new Promise<void>((r) => sub.end(false, {}, () => r()));
    stream = startNumberedStream(pub, topic, qos, { from: earlier.length, count: 400 });
    await stream.ackedAtLeast(100);
  }
  const ackedBefore = stream.acked.length;
  await cluster.c.node('n1').kill9();
  await stream.stop();
  const inFlight = stream.acked.slice(ackedBefore);
  if (opts.offline) {
    await roamingClient([cluster.c.node('n3').mqttPort], { clientId }, t, (again) => (later = arrivals(again, topic)));
  }
  const acked = [...earlier, ...stream.acked];
  const all = () => (opts.offline ? [...got, ...later] : got);
  const mustHave = [...earlier, ...stream.acked.slice(0, ackedBefore)];
  await until(() => check(mustHave, all()).missing.length === 0, 20_000, 'every message acknowledged before the kill').catch((err: Error) => {
    throw new Error(`${err.message} (missing ${check(mustHave, all()).missing.slice(0, 20).join(',')})`);
  });
  // whatever else comes has time to come (a duplicate, for QoS 2)
  await sleep(500);
  const r = check(acked, all());
  t.diagnostic(`${ackedBefore} acknowledged before the kill, ${inFlight.length} while it happened; received ${all().length}, ${r.duplicates.length} duplicates; in flight and lost: ${r.missing.join(',') || 'none'}`);
  assert.deepEqual(check(mustHave, all()).missing, []);
  assert.ok(r.missing.every((s) => inFlight.includes(s)), `lost ${r.missing.join(',')}`);
  if (qos === 2) assert.deepEqual(r.duplicates, []);
  assert.deepEqual(r.outOfOrder, []);
  await restartN1();
}

test('QoS 1: a persistent subscriber on a node killed mid-stream resumes on another node with every acknowledged message, in order', async (t) => {
  await crashMidStream(t, 1, { offline: false });
});

test('QoS 2: exactly once across the crash, in order', async (t) => {
  await crashMidStream(t, 2, { offline: false });
});

test('QoS 1: a subscriber offline when its node dies gets its queue on another node', async (t) => {
  await crashMidStream(t, 1, { offline: true });
});

test('QoS 2: offline when its node dies: the queue, exactly once', async (t) => {
  await crashMidStream(t, 2, { offline: true });
});
