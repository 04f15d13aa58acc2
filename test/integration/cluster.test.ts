/**
 * A real three-node cluster (nats-server, redis-server, three `node dist/node/main.js`
 * processes) driven by MQTT.js clients: forwarding across nodes at every QoS with exact and
 * wildcard filters, shared groups chosen cluster-wide, retained messages replicated (and
 * surviving a node restart), and session takeover between nodes. Failures (a node killed,
 * Redis and NATS restarted) are in cluster-failure.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import type { NodeProcess } from '../support/broker.js';
import { eventually, fullName, sleep, startCluster, type TestCluster } from '../support/cluster.js';
import { closeAllClients, connectClient, PresenceWatcher, tcpUrl, uid, type ConnectOptions, type QoS, type Received, type Scope, type TestClient } from '../support/mqtt-clients.js';

let c: TestCluster;

before(async () => {
  c = await startCluster(['n1', 'n2', 'n3']);
});

after(async () => {
  await closeAllClients();
  await c?.stop();
});

function client(t: Scope, node: string | NodeProcess, opts: ConnectOptions = {}): Promise<TestClient> {
  const n = typeof node === 'string' ? c.node(node) : node;
  return connectClient(tcpUrl(n.mqttPort), { clientId: uid(typeof node === 'string' ? node : 'c'), ...opts }, t);
}

const isProbe = (m: Received): boolean => m.payload.startsWith('probe-');
const notProbe = (m: Received): boolean => !isProbe(m);

/**
 * Publishes QoS 1 probes on `topic` until every receiver has one of this publisher's: the routes the receivers'
 * subscriptions made have reached the publisher's node. Returns how long that took.
 */
async function probeUntil(pub: TestClient, topic: string, receivers: TestClient[], timeoutMs = 3000): Promise<number> {
  const t0 = performance.now();
  const mine = (m: Received) => m.payload.startsWith(`probe-${pub.label}-`);
  for (let k = 0; ; k++) {
    if (receivers.every((r) => r.messages(mine).length > 0)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) {
      const missing = receivers.filter((r) => r.messages(mine).length === 0).map((r) => r.label);
      throw new Error(`no route to ${missing.join(', ')} for ${topic} after ${timeoutMs} ms`);
    }
    await pub.publish(topic, `probe-${pub.label}-${k}`, { qos: 1 });
    await sleep(5);
  }
}

/** Route rows (`node filter`) in the store. */
async function storeRoutes(): Promise<Set<string>> {
  return new Set((await c.store.routes()).map((r) => `${r.node} ${r.filter}`));
}

async function waitStoreRoutes(rows: string[], absent: string[] = [], timeoutMs = 3000): Promise<void> {
  await eventually(async () => {
    const have = await storeRoutes();
    for (const r of rows) assert.ok(have.has(r), `route ${r} in the store`);
    for (const r of absent) assert.ok(!have.has(r), `route ${r} gone from the store`);
  }, timeoutMs);
}

/** The retained message a fresh subscriber on `node` gets for `topic` (undefined: none). */
async function retainedOn(t: Scope, node: NodeProcess, topic: string): Promise<Received | undefined> {
  const probe = await client(t, node, { clientId: uid('ret') });
  try {
    await probe.subscribe(topic, { qos: 1 });
    await probe.barrier(); // the retained message, if any, came before the barrier's round trip
    return probe.messages(topic)[0];
  } finally {
    await probe.destroy();
  }
}

test('a route appears within milliseconds: publish on n1 right after SUBACK on n2', async (t) => {
  const topic = `${uid('route')}/x`;
  const pub = await client(t, 'n1');
  const sub = await client(t, 'n2');
  await sub.subscribe(topic, { qos: 1 });
  const routeMs = await probeUntil(pub, topic, [sub], 2000);
  const probes = sub.messages(isProbe).map((m) => m.payload);
  t.diagnostic(`route n2 -> n1 usable ${routeMs.toFixed(1)} ms after SUBACK; first probe delivered: ${probes[0]}`);
  assert.ok(routeMs < 1000, `route took ${routeMs} ms`);

  // a fresh sequence now goes through exactly once, in order
  const sent = Array.from({ length: 20 }, (_, i) => `s${i}`);
  for (const p of sent) await pub.publish(topic, p, { qos: 1 });
  const got = await sub.waitForMessages(20, { filter: notProbe });
  await sub.barrier();
  assert.deepEqual(
    sub.messages(notProbe).map((m) => m.payload),
    sent,
  );
  assert.deepEqual(
    got.map((m) => m.qos),
    sent.map(() => 1),
  );
});

test('publish on n1 reaches n2 and n3: QoS 0/1/2 delivered at min(pub, sub), exact, + and # filters, each message once', async (t) => {
  const id = uid('fw');
  const topic = `${id}/a/b`;
  const specs: [string, string, QoS][] = [
    ['n2', topic, 0],
    ['n2', topic, 1],
    ['n2', topic, 2],
    ['n3', `${id}/+/b`, 2],
    ['n3', `${id}/#`, 1],
    ['n3', topic, 0],
  ];
  const subs: { c: TestClient; label: string; qos: QoS }[] = [];
  for (const [node, filter, qos] of specs) {
    const label = `${node} ${filter} q${qos}`;
    const s = await client(t, node, { label });
    const granted = await s.subscribe(filter, { qos });
    assert.equal(granted[0]!.qos, qos, label);
    subs.push({ c: s, label, qos });
  }
  const pub = await client(t, 'n1', { label: 'pub' });
  const routeMs = await probeUntil(
    pub,
    topic,
    subs.map((s) => s.c),
  );
  t.diagnostic(`routes of 6 subscribers on n2/n3 usable on n1 after ${routeMs.toFixed(1)} ms`);

  const sent: { payload: string; qos: QoS }[] = [];
  for (const q of [0, 1, 2] as const) {
    for (let i = 0; i < 10; i++) {
      const payload = `q${q}-${i}`;
      await pub.publish(topic, payload, { qos: q });
      sent.push({ payload, qos: q });
    }
  }
  sent.push({ payload: 'end', qos: 2 });
  await pub.publish(topic, 'end', { qos: 2 });

  for (const s of subs) {
    await s.c.waitForMessages(sent.length, { filter: notProbe });
    await s.c.waitForMessage((m) => m.payload === 'end');
  }
  await sleep(100); // a duplicate would have had time to arrive
  for (const s of subs) {
    const got = s.c.messages(notProbe);
    assert.deepEqual(
      got.map((m) => m.payload).sort(),
      sent.map((m) => m.payload).sort(),
      `${s.label}: every message exactly once`,
    );
    const pubQos = new Map(sent.map((m) => [m.payload, m.qos]));
    for (const m of got) assert.equal(m.qos, Math.min(pubQos.get(m.payload)!, s.qos), `${s.label}: QoS of ${m.payload}`);
    for (const q of [0, 1, 2]) {
      const seq = got.filter((m) => m.payload.startsWith(`q${q}-`)).map((m) => m.payload);
      assert.deepEqual(
        seq,
        sent.filter((m) => m.qos === q && m.payload !== 'end').map((m) => m.payload),
        `${s.label}: QoS ${q} messages in order`,
      );
    }
  }
});

test('$share/g/t and $queue/t across 3 nodes: each message once per group, every node gets some; a plain subscriber gets all', async (t) => {
  const topic = `${uid('sh')}/work`;
  const share = `$share/g/${topic}`;
  const queue = `$queue/${topic}`;
  const group = async (filter: string, nodes: string[]): Promise<{ node: string; c: TestClient }[]> => {
    const out: { node: string; c: TestClient }[] = [];
    for (const [i, node] of nodes.entries()) {
      const m = await client(t, node, { label: `${filter}#${i}@${node}` });
      await m.subscribe(filter, { qos: 1 });
      out.push({ node, c: m });
    }
    return out;
  };
  const g = await group(share, ['n1', 'n1', 'n2', 'n3']);
  const q = await group(queue, ['n1', 'n2', 'n3', 'n3']);
  await waitStoreRoutes(['n1', 'n2', 'n3'].flatMap((n) => [`${fullName(n)} ${share}`, `${fullName(n)} $share/$queue/${topic}`]));
  // subscribed last: its route reaches every node after the groups' routes (one ordered channel)
  const plain = await client(t, 'n2', { label: 'plain' });
  await plain.subscribe(topic, { qos: 1 });
  const pub1 = await client(t, 'n1', { label: 'pub-n1' });
  const pub3 = await client(t, 'n3', { label: 'pub-n3' });
  await probeUntil(pub1, topic, [plain]);
  await probeUntil(pub3, topic, [plain]);

  const sent: string[] = [];
  const run = async (pub: TestClient, tag: string) => {
    for (let i = 0; i < 30; i++) {
      const p = `${tag}-${i}`;
      sent.push(p);
      await pub.publish(topic, p, { qos: 1 });
    }
  };
  await Promise.all([run(pub1, 'a'), run(pub3, 'c')]);
  const payloads = (members: { c: TestClient }[]) => members.flatMap((m) => m.c.messages(notProbe).map((x) => x.payload));
  await eventually(() => {
    assert.equal(payloads(g).length, 60, 'group g');
    assert.equal(payloads(q).length, 60, 'group $queue');
    assert.equal(plain.messages(notProbe).length, 60, 'plain');
  }, 5000);
  await sleep(150); // a duplicate would have had time to arrive

  const all = [...sent].sort();
  assert.deepEqual(payloads(g).sort(), all, '$share/g: each message exactly once across the group');
  assert.deepEqual(payloads(q).sort(), all, '$queue: each message exactly once across the group');
  assert.deepEqual(
    plain
      .messages(notProbe)
      .map((m) => m.payload)
      .sort(),
    all,
    'plain subscriber: every message once',
  );
  for (const [name, members] of [
    ['$share/g', g],
    ['$queue', q],
  ] as const) {
    const perNode = new Map<string, number>();
    for (const m of members) perNode.set(m.node, (perNode.get(m.node) ?? 0) + m.c.messages(notProbe).length);
    t.diagnostic(`${name}: per member ${members.map((m) => `${m.node}=${m.c.messages(notProbe).length}`).join(' ')}`);
    for (const n of ['n1', 'n2', 'n3']) assert.ok((perNode.get(n) ?? 0) > 0, `${name}: members on ${n} got some (${JSON.stringify([...perNode])})`);
  }
});

test('takeover n1 -> n2: queued QoS 1 messages move once and in order, the subscription moves, the registry follows', async (t) => {
  const id = uid('tk');
  const topic = `${id}/inbox`;
  const presence = await PresenceWatcher.start(c.node('n1').mqttPort, fullName('n1'));
  t.after(() => presence.client.destroy());
  const first = await client(t, 'n1', { clientId: id, clean: false });
  assert.equal(first.connack!.sessionPresent, false);
  await first.subscribe(topic, { qos: 1 });
  const pub = await client(t, 'n3', { label: 'pub-n3' });
  await probeUntil(pub, topic, [first]);
  await first.barrier();
  const from = presence.mark();
  await first.end();
  await presence.disconnected(id, { from });

  const sent = ['m1', 'm2', 'm3', 'm4', 'm5'];
  for (const p of sent) await pub.publish(topic, p, { qos: 1 });
  // queued in the session on n1 (read over RPC: the registry still says n1)
  assert.equal(await c.store.lookupClient(id), fullName('n1'));
  await eventually(async () => {
    const row = await c.transport.request(fullName('n1'), 'clients.get', { clientid: id }, 1000);
    assert.equal(row?.mqueue_len, 5, 'queued on n1');
  }, 3000);

  const second = await client(t, 'n2', { clientId: id, clean: false });
  assert.equal(second.connack!.sessionPresent, true, 'the session came over from n1');
  await second.waitForMessages(5);
  await second.barrier();
  assert.deepEqual(
    second.messages(notProbe).map((m) => [m.payload, m.qos]),
    sent.map((p) => [p, 1]),
    'the 5 queued messages, once each, in order',
  );
  assert.equal(await c.store.lookupClient(id), fullName('n2'));
  await waitStoreRoutes([`${fullName('n2')} ${topic}`], [`${fullName('n1')} ${topic}`]);
  assert.equal(await c.transport.request(fullName('n1'), 'clients.get', { clientid: id }, 1000), null, 'no session left on n1');

  // the subscription lives on n2: a new publish from n3 arrives there
  await probeUntil(pub, topic, [second]);
  await pub.publish(topic, 'm6', { qos: 1 });
  await second.waitForMessage((m) => m.payload === 'm6');
  await sleep(100);
  assert.deepEqual(
    second.messages(notProbe).map((m) => m.payload),
    [...sent, 'm6'],
  );
});

test('takeover of a live connection: the n1 client gets DISCONNECT 0x8E; clean start 0 keeps the session, clean start 1 discards it', async (t) => {
  const v5 = { protocolVersion: 5 as const, properties: { sessionExpiryInterval: 300 } };
  for (const cleanSecond of [false, true]) {
    const id = uid(cleanSecond ? 'discard' : 'live');
    const topic = `${id}/t`;
    const first = await client(t, 'n1', { clientId: id, clean: false, ...v5 });
    await first.subscribe(topic, { qos: 1 });
    await waitStoreRoutes([`${fullName('n1')} ${topic}`]);
    const second = await client(t, 'n2', { clientId: id, clean: cleanSecond, ...v5 });
    const d = await first.waitDisconnect();
    assert.equal(d.reasonCode, 0x8e, 'session taken over');
    await first.waitClose();
    assert.equal(second.connack!.sessionPresent, !cleanSecond, `clean start ${cleanSecond ? 1 : 0}`);
    assert.equal(await c.store.lookupClient(id), fullName('n2'));
    if (cleanSecond) {
      // discarded: the subscription went with the old session, nowhere a route for it
      await waitStoreRoutes([], [`${fullName('n1')} ${topic}`, `${fullName('n2')} ${topic}`]);
      const local = await client(t, 'n2');
      await local.publish(topic, 'after-discard', { qos: 1 });
      await second.barrier();
      assert.deepEqual(second.messages(), [], 'no subscription survived the clean start');
    } else {
      await waitStoreRoutes([`${fullName('n2')} ${topic}`], [`${fullName('n1')} ${topic}`]);
      const pub = await client(t, 'n1');
      await probeUntil(pub, topic, [second]);
    }
  }
});

test('retained: set on n1 seen on n3, deleted on n2 gone on n3, kept across a restart of n1', async (t) => {
  const id = uid('ret');
  const topic = `${id}/state`;
  const kept = `${id}/kept`;
  const p1 = await client(t, 'n1');
  await p1.publish(topic, 'v1', { qos: 1, retain: true });
  await eventually(async () => {
    const m = await retainedOn(t, c.node('n3'), topic);
    assert.equal(m?.payload, 'v1', 'retained set on n1, read on n3');
    assert.equal(m.retain, true);
  }, 3000);

  const p2 = await client(t, 'n2');
  await p2.publish(topic, '', { qos: 1, retain: true });
  await eventually(async () => assert.equal(await retainedOn(t, c.node('n3'), topic), undefined, 'deleted on n2, gone on n3'), 3000);

  await p1.publish(kept, 'survives', { qos: 1, retain: true });
  await eventually(async () => assert.equal((await retainedOn(t, c.node('n2'), kept))?.payload, 'survives'), 3000);
  await p1.destroy();
  await c.node('n1').stop();
  c.nodes.delete('n1');
  const n1 = await c.startNode('n1');
  const m = await retainedOn(t, n1, kept);
  assert.equal(m?.payload, 'survives', 'retained message on the restarted n1');
  assert.equal(await retainedOn(t, n1, topic), undefined, 'the deleted one stays deleted');
});

test('a kick reaches the client wherever it is: the registry names its node, that node kicks it', async (t) => {
  const id = uid('kick');
  const victim = await client(t, 'n3', { clientId: id, protocolVersion: 5 });
  const owner = await eventually(async () => {
    const node = await c.store.lookupClient(id);
    assert.equal(node, fullName('n3'));
    return node!;
  });
  const closed = victim.waitDisconnect();
  // asked from outside the node (as the gateway will), addressed through the registry
  assert.equal(await c.transport.request(owner, 'clients.kick', { clientid: id }, 1000), true);
  assert.equal((await closed).reasonCode, 0x98, 'MQTT 5 DISCONNECT: administrative action');
  await eventually(async () => assert.equal(await c.store.lookupClient(id), undefined), 2000);
  // the other nodes do not have it: their kick answers false
  assert.equal(await c.transport.request(fullName('n1'), 'clients.kick', { clientid: id }, 1000), false);
});
