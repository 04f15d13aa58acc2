/**
 * Durable sessions' lifecycle on a real cluster (README "Durable sessions"): clean sessions
 * leave nothing in JetStream, a session whose node died expires on time (and its will is
 * published by a survivor), and a session taken over by a live node keeps its durable state
 * with its new owner.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, fullName, useCluster } from '../support/cluster.js';
import { connectClient, sleep, tcpUrl, uid } from '../support/mqtt-clients.js';
import { arrivals, check, durableState, roamingClient, startNumberedStream, until } from '../support/durable.js';

// sweeps often, so that a session whose node died expires within the test
const cluster = useCluster(['n1', 'n2', 'n3'], { STARLING_DURABLE_SWEEP_MS: '200' });

async function ensureUp(short: string): Promise<void> {
  if (cluster.c.nodes.get(short)?.proc.alive) return;
  cluster.c.nodes.delete(short);
  await cluster.c.startNode(short);
}

test('clean sessions store nothing in JetStream', async (t) => {
  const topic = uid('clean/t');
  const ids = [uid('clean-sub'), uid('clean-pub'), uid('v5-clean')];
  const sub = await connectClient(tcpUrl(cluster.c.node('n1').mqttPort), { clientId: ids[0] }, t);
  await sub.subscribe(topic, { qos: 2 });
  const v5 = await connectClient(tcpUrl(cluster.c.node('n2').mqttPort), { clientId: ids[2], protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 0 } }, t);
  await v5.subscribe(topic, { qos: 1 });
  const pub = await connectClient(tcpUrl(cluster.c.node('n2').mqttPort), { clientId: ids[1] }, t);
  await eventually(async () => {
    await pub.publish(topic, 'probe', { qos: 1 });
    await sub.waitForMessages(1, { timeoutMs: 200 });
  }, 5000);
  for (let i = 0; i < 20; i++) await pub.publish(topic, String(i), { qos: (i % 2) + 1 as 1 | 2 });
  await sub.waitForMessages(21);
  await Promise.all([sub.end(), pub.end(), v5.end()]);
  const s = await durableState(cluster.c.nats.url, ids);
  assert.deepEqual(s.records.filter((r) => ids.includes(r)), []);
  assert.equal(s.messagesOf, 0);
});

test('a persistent session ended by a clean start leaves nothing in the bucket, not even a marker', async (t) => {
  const clientId = uid('ended');
  const first = await connectClient(tcpUrl(cluster.c.node('n1').mqttPort), { clientId, clean: false }, t);
  await first.subscribe(uid('ended/t'), { qos: 1 });
  await first.end();
  await eventually(async () => assert.equal((await durableState(cluster.c.nats.url, [clientId])).recordEntriesOf, 1), 5000);
  const again = await connectClient(tcpUrl(cluster.c.node('n2').mqttPort), { clientId, clean: true }, t);
  await again.end();
  await eventually(async () => {
    const s = await durableState(cluster.c.nats.url, [clientId]);
    assert.deepEqual(s.records.filter((r) => r === clientId), []);
    assert.equal(s.recordEntriesOf, 0, 'the purge marker is dropped too');
  }, 5000);
});

test('a session whose node died expires on time, and its delayed will is published by a survivor', async (t) => {
  await ensureUp('n1');
  const clientId = uid('expiring');
  const willTopic = uid('will/t');
  const watcher = await connectClient(tcpUrl(cluster.c.node('n2').mqttPort), { clientId: uid('watch') }, t);
  await watcher.subscribe(willTopic, { qos: 1 });
  const sub = await connectClient(
    tcpUrl(cluster.c.node('n1').mqttPort),
    { clientId, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 2 }, will: { topic: willTopic, payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 1 } } },
    t,
  );
  await sub.subscribe(uid('expiring/t'), { qos: 1 });
  await eventually(async () => assert.ok((await durableState(cluster.c.nats.url)).records.includes(clientId)), 5000);
  await cluster.c.node('n1').kill9();
  // a survivor sees the session orphaned, publishes the will after its delay, deletes the session after its expiry
  await watcher.waitForMessage((m) => m.topic === willTopic && m.payload === 'gone', { timeoutMs: 15_000 });
  await eventually(async () => assert.ok(!(await durableState(cluster.c.nats.url)).records.includes(clientId)), 15_000);
  const back = await connectClient(tcpUrl(cluster.c.node('n3').mqttPort), { clientId, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } }, t);
  assert.equal(back.connack?.sessionPresent, false);
  await back.end();
  await ensureUp('n1');
});

test('a session taken over by a live node keeps its durable state there: the new node dies, the session resumes on a third', async (t) => {
  await ensureUp('n1');
  await ensureUp('n2');
  const topic = uid('moved/t');
  const clientId = uid('moved');
  const first = await connectClient(tcpUrl(cluster.c.node('n1').mqttPort), { clientId, clean: false }, t);
  await first.subscribe(topic, { qos: 1 });
  await first.end();
  const pub = await connectClient(tcpUrl(cluster.c.node('n3').mqttPort), { clientId: uid('moved-pub') }, t);
  // queued on n1 while offline (the route reaches n3 first)
  await eventually(async () => assert.ok((await cluster.c.store.routes()).some((r) => r.filter === topic)), 5000);
  await sleep(200);
  const a = startNumberedStream(pub, topic, 1, { count: 50 });
  await a.stop();
  // n2 takes the session over from n1 (live): its messages move with it
  let got: number[] = [];
  const second = await roamingClient([cluster.c.node('n2').mqttPort], { clientId }, t, (cl) => (got = arrivals(cl, topic)));
  await until(() => check(a.acked, got).missing.length === 0, 10_000, 'the queue moved to n2');
  await new Promise<void>((r) => second.end(false, {}, () => r()));
  await sleep(200);
  const b = startNumberedStream(pub, topic, 1, { from: 50, count: 50 });
  await b.stop();
  await cluster.c.node('n2').kill9();
  let later: number[] = [];
  await roamingClient([cluster.c.node('n3').mqttPort], { clientId }, t, (cl) => (later = arrivals(cl, topic)));
  await until(() => check(b.acked, later).missing.length === 0, 15_000, 'what was queued on n2, after n2 died').catch((err: Error) => {
    throw new Error(`${err.message}: missing ${check(b.acked, later).missing.join(',')}`);
  });
  await ensureUp('n2');
});

test('a session whose node died is adopted by a survivor: what is published before its client is back is queued for it', async (t) => {
  await ensureUp('n1');
  const c = cluster.c;
  const topic = uid('adopted/t');
  const clientId = uid('adopted');
  const first = await connectClient(tcpUrl(c.node('n1').mqttPort), { clientId, clean: false }, t);
  await first.subscribe(topic, { qos: 1 });
  await first.end();
  const pub = await connectClient(tcpUrl(c.node('n3').mqttPort), { clientId: uid('adopted-pub') }, t);
  await eventually(async () => assert.ok((await c.store.routes()).some((r) => r.filter === topic)), 5000);
  await sleep(200);
  const a = startNumberedStream(pub, topic, 1, { count: 30 });
  await a.stop();
  await c.node('n1').kill9();
  // a survivor holds the session now: its subscription routes there
  await eventually(async () => assert.ok((await c.store.routes()).some((r) => r.filter === topic && r.node !== fullName('n1'))), 15_000);
  await sleep(200);
  const b = startNumberedStream(pub, topic, 1, { from: 30, count: 30 });
  await b.stop();
  let got: number[] = [];
  await roamingClient([c.node('n3').mqttPort], { clientId }, t, (cl) => (got = arrivals(cl, topic)));
  const acked = [...a.acked, ...b.acked];
  await until(() => check(acked, got).missing.length === 0, 15_000, 'everything, from before and after the death').catch((err: Error) => {
    throw new Error(`${err.message}: missing ${check(acked, got).missing.join(',')}`);
  });
  assert.deepEqual(check(acked, got).outOfOrder, []);
  await ensureUp('n1');
});
