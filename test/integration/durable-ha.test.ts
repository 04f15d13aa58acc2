/**
 * Durable sessions on a NATS cluster of three servers with JetStream replicas 3: one NATS
 * server killed with SIGKILL under QoS 1 and QoS 2 streams to a persistent session that is
 * offline (so every message is stored), then the session's node killed too: the session
 * resumes on a third node with everything acknowledged, QoS 2 once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, useCluster } from '../support/cluster.js';
import { connectClient, sleep, tcpUrl, uid } from '../support/mqtt-clients.js';
import { arrivals, check, roamingClient, startNumberedStream, until } from '../support/durable.js';

const cluster = useCluster(['n1', 'n2', 'n3'], { STARLING_DURABLE_REPLICAS: '3' }, { natsServers: 3 });

test('one of three NATS servers killed under the streams, then the session\'s node: nothing acknowledged is lost (R3)', { timeout: 120_000 }, async (t) => {
  const c = cluster.c;
  const clientId = uid('ha-sub');
  const topics = [uid('ha/q1'), uid('ha/q2')] as const;
  const sub = await roamingClient([c.node('n1').mqttPort], { clientId }, t);
  await sub.subscribeAsync(topics[0], { qos: 1 });
  await sub.subscribeAsync(topics[1], { qos: 2 });
  await new Promise<void>((r) => sub.end(false, {}, () => r()));
  await eventually(async () => {
    const filters = new Set((await c.store.routes()).map((r) => r.filter));
    assert.ok(topics.every((tp) => filters.has(tp)));
  }, 5000);
  await sleep(300); // the route notice reaches n2
  const pubs = await Promise.all([1, 2].map((q) => connectClient(tcpUrl(c.node('n2').mqttPort), { clientId: uid(`ha-pub${q}`) }, t)));
  const streams = [startNumberedStream(pubs[0]!, topics[0], 1, { count: 400, everyMs: 5 }), startNumberedStream(pubs[1]!, topics[1], 2, { count: 400, everyMs: 5 })];
  await Promise.all(streams.map((s) => s.ackedAtLeast(50)));
  await c.natsCluster!.servers[0]!.stop('SIGKILL');
  const atKill = streams.map((s) => s.acked.length);
  await Promise.all(streams.map((s) => s.ackedAtLeast(s.acked.length + 100, 60_000)));
  await Promise.all(streams.map((s) => s.stop()));
  t.diagnostic(`acknowledged ${streams.map((s) => s.acked.length).join(' / ')} (QoS 1 / QoS 2), ${atKill.join(' / ')} before the NATS server died`);
  await c.node('n1').kill9();
  const got: number[][] = [[], []];
  await roamingClient([c.node('n3').mqttPort], { clientId }, t, (cl) => {
    got[0] = arrivals(cl, topics[0]);
    got[1] = arrivals(cl, topics[1]);
  });
  for (const i of [0, 1]) {
    await until(() => check(streams[i]!.acked, got[i]!).missing.length === 0, 30_000, `QoS ${i + 1}: every acknowledged message`).catch((err: Error) => {
      throw new Error(`${err.message}: missing ${check(streams[i]!.acked, got[i]!).missing.slice(0, 20).join(',')}`);
    });
  }
  await sleep(500);
  const r2 = check(streams[1]!.acked, got[1]!);
  assert.deepEqual(r2.duplicates, [], 'QoS 2 once');
  assert.deepEqual(r2.outOfOrder, []);
  assert.deepEqual(check(streams[0]!.acked, got[0]!).outOfOrder, []);
});
