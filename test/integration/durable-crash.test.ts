/**
 * Durable sessions across a node crash (README "Durable sessions"): a persistent subscriber
 * on n1, a publisher on n2 sending a numbered stream; n1 is killed with SIGKILL mid-stream
 * and the subscriber resumes on n3 with everything the publisher was told was delivered,
 * in order, QoS 2 exactly once.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { useCluster } from '../support/cluster.js';
import { connectClient, sleep, tcpUrl, uid, withTimeout, type QoS } from '../support/mqtt-clients.js';
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
 * once, those in flight to n1 when it died included (n2 holds their acknowledgements until
 * n1 is dead by its heartbeat, then stores them for n1's persistent sessions:
 * docs/forwarding.md, "Unreachable nodes"). The publisher stops when n1 dies.
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
  await until(() => check(acked, all()).missing.length === 0, 20_000, 'every acknowledged message').catch((err: Error) => {
    throw new Error(`${err.message} (missing ${check(acked, all()).missing.slice(0, 20).join(',')})`);
  });
  // whatever else comes has time to come (a duplicate, for QoS 2)
  await sleep(500);
  const r = check(acked, all());
  t.diagnostic(`${ackedBefore} acknowledged before the kill, ${inFlight.length} while it happened; received ${all().length}, ${r.duplicates.length} duplicates`);
  assert.deepEqual(r.missing, []);
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

/**
 * A persistent QoS 1 subscriber on n1, its route seen on n2 (a probe from a publisher there
 * gets through), then gone offline: its session stays on n1.
 */
async function offlineOnN1(t: TestContext, name: string): Promise<{ topic: string; clientId: string; pub: Awaited<ReturnType<typeof connectClient>> }> {
  if (!cluster.c.node('n1').proc.alive) await restartN1();
  const topic = uid(`dur/${name}`);
  const clientId = uid('dur-sub');
  const sub = await roamingClient([cluster.c.node('n1').mqttPort], { clientId }, t);
  await sub.subscribeAsync(topic, { qos: 1 });
  const pub = await connectClient(tcpUrl(cluster.c.node('n2').mqttPort), { clientId: uid('dur-pub') }, t);
  let probed = false;
  sub.on('message', (tp, payload) => {
    if (tp === topic && payload.toString() === 'probe') probed = true;
  });
  while (!probed) {
    await pub.publish(topic, 'probe', { qos: 1 });
    await sleep(50);
  }
  await new Promise<void>((r) => sub.end(false, {}, () => r()));
  return { topic, clientId, pub };
}

/** The subscriber back on `node`: once every acknowledged message came (or 20 s), what it got. */
async function backFor(t: TestContext, node: string, clientId: string, topic: string, acked: number[]): Promise<{ r: ReturnType<typeof check>; got: number[] }> {
  let got: number[] = [];
  await roamingClient([cluster.c.node(node).mqttPort], { clientId }, t, (again) => (got = arrivals(again, topic)));
  await until(() => check(acked, got).missing.length === 0, 20_000, 'every acknowledged message').catch((err: Error) => {
    throw new Error(`${err.message} (missing ${check(acked, got).missing.slice(0, 20).join(',')} of ${acked.length})`);
  });
  // whatever else comes has time to come
  await sleep(300);
  return { r: check(acked, got), got };
}

test('QoS 1: messages published after the node died, until its sessions are adopted, reach the session once its client is back', { timeout: 120_000 }, async (t) => {
  const { topic, clientId, pub } = await offlineOnN1(t, 'window');
  const adoptions = () => ['n2', 'n3'].reduce((k, n) => k + cluster.c.node(n).proc.lines.filter((l) => l.includes('durable session adopted') && l.includes(clientId)).length, 0);
  await cluster.c.node('n1').kill9();
  // a message every 20 ms, none waiting for another's acknowledgement: through the kill, the
  // heartbeat TTL, the purge and the adoption, and a little after
  const acked: number[] = [];
  const sent: Promise<unknown>[] = [];
  let seq = 0;
  let adoptedAt: number | undefined;
  while (adoptedAt === undefined || Date.now() - adoptedAt < 500) {
    const s = seq++;
    sent.push(withTimeout(pub.client.publishAsync(topic, String(s), { qos: 1 }), 40_000, `publish ${s}`).then(() => void acked.push(s), () => {}));
    await sleep(20);
    if (adoptedAt === undefined && adoptions() > 0) adoptedAt = Date.now();
    assert.ok(seq < 2_000, 'the session of n1 was adopted');
  }
  await Promise.all(sent);
  // the client comes back (to n3): its adopted session has them all
  const { r, got } = await backFor(t, 'n3', clientId, topic, acked);
  t.diagnostic(`${seq} published from the kill until 500 ms after the adoption, ${acked.length} acknowledged, ${got.length} received, ${r.duplicates.length} duplicates`);
  assert.deepEqual(r.missing, []);
  await restartN1();
});

test('QoS 1: a node killed and started again under its name takes its stored sessions back: what was published meanwhile reaches the session', { timeout: 120_000 }, async (t) => {
  // offline (its session stays on n1), then n1 dies and comes back under its name while a
  // message goes every 20 ms
  const { topic, clientId, pub } = await offlineOnN1(t, 'restart');
  await cluster.c.node('n1').kill9();
  cluster.c.nodes.delete('n1');
  const acked: number[] = [];
  const sent: Promise<unknown>[] = [];
  let seq = 0;
  let publishing = true;
  const loop = (async () => {
    while (publishing) {
      const s = seq++;
      sent.push(withTimeout(pub.client.publishAsync(topic, String(s), { qos: 1 }), 40_000, `publish ${s}`).then(() => void acked.push(s), () => {}));
      await sleep(20);
    }
  })();
  await sleep(1_000);
  await cluster.c.startNode('n1');
  await sleep(1_500);
  publishing = false;
  await loop;
  await Promise.all(sent);
  const { r, got } = await backFor(t, 'n1', clientId, topic, acked);
  t.diagnostic(`${seq} published through the kill and the restart, ${acked.length} acknowledged, ${got.length} received, ${r.duplicates.length} duplicates`);
  assert.deepEqual(r.missing, []);
});
