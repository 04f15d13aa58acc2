/**
 * Shared subscriptions end to end: `$share/<group>/<filter>` and `$queue/<filter>` spread each
 * message to one member of each group, with the random and round_robin strategies.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, type NodeProcess } from '../support/broker.js';
import { closeAllClients, connectClient, tcpUrl, uid, wsUrl, type TestClient } from '../support/mqtt-clients.js';

type Scope = { after(fn: () => unknown): void };

let random: NodeProcess;
let roundRobin: NodeProcess;

before(async () => {
  [random, roundRobin] = await Promise.all([
    startNode({ name: 'shared-random' }),
    startNode({ name: 'shared-rr', env: { STARLING_SHARED_DISPATCH_STRATEGY: 'round_robin' } }),
  ]);
});

after(async () => {
  await closeAllClients();
  await Promise.all([random?.stop(), roundRobin?.stop()]);
});

async function members(t: Scope, node: NodeProcess, n: number, filter: string, base: string): Promise<TestClient[]> {
  const out: TestClient[] = [];
  for (let i = 0; i < n; i++) {
    // alternate transports: membership does not depend on how a client is connected
    const url = i % 2 === 0 ? tcpUrl(node.mqttPort) : wsUrl(node.wsPort);
    const c = await connectClient(url, { clientId: `${base}-m${i}` }, t);
    const granted = await c.subscribe(filter, { qos: 1 });
    assert.deepEqual(
      granted.map((g) => [g.topic, g.qos]),
      [[filter, 1]],
    );
    out.push(c);
  }
  return out;
}

/** Publishes `count` QoS 1 messages (payload m0..), then barriers every receiver so all deliveries are in. */
async function publishAll(t: Scope, node: NodeProcess, topic: string, count: number, receivers: TestClient[]): Promise<string[]> {
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('shpub') }, t);
  const sent = Array.from({ length: count }, (_, i) => `m${i}`);
  for (const p of sent) await pub.publish(topic, p, { qos: 1 });
  await Promise.all(receivers.map((r) => r.barrier()));
  return sent;
}

/** All payloads the clients received on `topic`, sorted like the sent ones. */
function union(clients: TestClient[], topic: string): string[] {
  return clients
    .flatMap((c) => c.messages(topic).map((m) => m.payload))
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
}

test('$share/g/t with 3 members: each message goes to exactly one member (random strategy)', async (t) => {
  const base = uid('sh');
  const topic = `${base}/t`;
  const group = await members(t, random, 3, `$share/g/${topic}`, base);
  const sent = await publishAll(t, random, topic, 30, group);
  // the topic of a delivery is the real topic, not the $share filter
  assert.deepEqual(union(group, topic), sent, 'all 30, none twice');
  assert.equal(
    group.reduce((n, c) => n + c.received.length, 0),
    30,
  );
  for (const c of group) assert.ok(c.received.every((m) => m.topic === topic && m.qos === 1 && !m.retain));
});

test('round_robin strategy: 30 messages over 3 members are exactly 10 each, in turn', async (t) => {
  const base = uid('rr');
  const topic = `${base}/t`;
  const group = await members(t, roundRobin, 3, `$share/g/${topic}`, base);
  const sent = await publishAll(t, roundRobin, topic, 30, group);
  assert.deepEqual(union(group, topic), sent);
  assert.deepEqual(
    group.map((c) => c.received.length),
    [10, 10, 10],
  );
  // each member got every third message
  for (const c of group) {
    const idx = c.received.map((m) => Number(m.payload.slice(1)));
    for (let i = 1; i < idx.length; i++) assert.equal(idx[i]! - idx[i - 1]!, 3, `${c.clientId}: ${idx.join(',')}`);
  }
});

test('$queue/t: each message goes to exactly one member', async (t) => {
  const base = uid('q');
  const topic = `${base}/t`;
  const group = await members(t, random, 2, `$queue/${topic}`, base);
  const sent = await publishAll(t, random, topic, 20, group);
  assert.deepEqual(union(group, topic), sent);
  assert.equal(
    group.reduce((n, c) => n + c.received.length, 0),
    20,
  );
});

test('two groups on one topic each get every message; a normal subscriber alongside gets all', async (t) => {
  const base = uid('g2');
  const topic = `${base}/t`;
  const g1 = await members(t, roundRobin, 2, `$share/g1/${topic}`, `${base}-g1`);
  const g2 = await members(t, roundRobin, 3, `$share/g2/${base}/+`, `${base}-g2`);
  const plain = await connectClient(tcpUrl(roundRobin.mqttPort), { clientId: `${base}-plain` }, t);
  await plain.subscribe(topic, { qos: 1 });
  const sent = await publishAll(t, roundRobin, topic, 12, [...g1, ...g2, plain]);

  assert.deepEqual(union(g1, topic), sent, 'group g1: every message once');
  assert.deepEqual(union(g2, topic), sent, 'group g2 (wildcard filter): every message once');
  assert.deepEqual(
    plain.received.map((m) => m.payload),
    sent,
    'the normal subscriber: every message, in order',
  );
  assert.deepEqual(
    g1.map((c) => c.received.length),
    [6, 6],
  );
  assert.deepEqual(
    g2.map((c) => c.received.length),
    [4, 4, 4],
  );
});

test('a member that unsubscribes gets no more; the rest of the group gets everything', async (t) => {
  const base = uid('shu');
  const topic = `${base}/t`;
  const group = await members(t, roundRobin, 3, `$share/g/${topic}`, base);
  await group[0]!.unsubscribe(`$share/g/${topic}`);
  const sent = await publishAll(t, roundRobin, topic, 10, group);
  assert.deepEqual(group[0]!.received, []);
  assert.deepEqual(union(group, topic), sent);
  assert.deepEqual(
    group.slice(1).map((c) => c.received.length),
    [5, 5],
  );
});

test('shared subscriptions get no retained messages on subscribe', async (t) => {
  const base = uid('shr');
  const topic = `${base}/t`;
  const pub = await connectClient(tcpUrl(random.mqttPort), { clientId: `${base}-pub` }, t);
  await pub.publish(topic, 'retained', { qos: 1, retain: true });
  const [member] = await members(t, random, 1, `$share/g/${topic}`, base);
  await member!.barrier();
  assert.deepEqual(member!.received, []);
  // while a normal subscription does (so there was one to get)
  const plain = await connectClient(tcpUrl(random.mqttPort), { clientId: `${base}-plain` }, t);
  await plain.subscribe(topic, { qos: 1 });
  assert.equal((await plain.waitForMessage(topic)).payload, 'retained');
  await pub.publish(topic, '', { qos: 1, retain: true });
});
