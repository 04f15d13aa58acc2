/**
 * A forward its node never confirmed before it died is held until that node is dead by its
 * heartbeat, then stored for the node's persistent sessions (docs/forwarding.md,
 * "Unreachable nodes"). It holds back only the publishers whose messages went there (a
 * flush per destination): a QoS 1 publisher on the same node whose messages go to a live
 * node gets its acknowledgements meanwhile. The heartbeat TTL is long here, so that the held
 * forward is still held while the other publisher's messages go through.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useCluster } from '../support/cluster.js';
import { connectClient, sleep, tcpUrl, uid, withTimeout } from '../support/mqtt-clients.js';
import { arrivals, roamingClient, until } from '../support/durable.js';

const cluster = useCluster(['n1', 'n2', 'n3'], { STARLING_HEARTBEAT_TTL_MS: '15000' });

test('a QoS 1 publisher to a live node is not held while a forward to a dead node is; the held one reaches the session once its node is dead', { timeout: 90_000 }, async (t) => {
  const c = cluster.c;
  const deadTopic = uid('held/dead');
  const liveTopic = uid('held/live');
  const clientId = uid('held-sub');
  const onN1 = await roamingClient([c.node('n1').mqttPort], { clientId }, t);
  await onN1.subscribeAsync(deadTopic, { qos: 1 });
  const onN3 = await connectClient(tcpUrl(c.node('n3').mqttPort), { label: 'sub-n3' }, t);
  await onN3.subscribe(liveTopic, { qos: 1 });
  const toDead = await connectClient(tcpUrl(c.node('n2').mqttPort), { label: 'pub-to-n1' }, t);
  const toLive = await connectClient(tcpUrl(c.node('n2').mqttPort), { label: 'pub-to-n3' }, t);
  // both routes reach n2: a probe of each gets through
  const got1 = arrivals(onN1, deadTopic);
  for (let k = 0; got1.length === 0; k++) {
    await toDead.publish(deadTopic, String(1000 + k), { qos: 1 });
    await sleep(50);
  }
  const got3: string[] = [];
  onN3.client.on('message', (tp, p) => void (tp === liveTopic && got3.push(p.toString())));
  for (let k = 0; got3.length === 0; k++) {
    await toLive.publish(liveTopic, `probe-${k}`, { qos: 1 });
    await sleep(50);
  }
  // the subscriber leaves (its session stays on n1), then n1 dies
  await new Promise<void>((r) => onN1.end(false, {}, () => r()));

  await c.node('n1').kill9();
  let heldAcked = false;
  const held = withTimeout(toDead.client.publishAsync(deadTopic, '1', { qos: 1 }), 60_000, 'the held publish').then(() => (heldAcked = true));
  for (let i = 0; i < 5; i++) await toLive.publish(liveTopic, `live-${i}`, { qos: 1 });
  await until(() => ['live-0', 'live-1', 'live-2', 'live-3', 'live-4'].every((m) => got3.includes(m)), 10_000, 'the live node got its messages');
  assert.equal(heldAcked, false, 'the forward to the dead node is still held (n1 is not dead by its heartbeat yet)');

  // n1 dead by its heartbeat: the message is stored for its session, then acknowledged
  await held;
  let again: number[] = [];
  await roamingClient([c.node('n3').mqttPort], { clientId }, t, (cl) => (again = arrivals(cl, deadTopic)));
  await until(() => again.includes(1), 10_000, 'the held message');
});
