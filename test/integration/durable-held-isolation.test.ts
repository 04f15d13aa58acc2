/**
 * A forward held for a dead node (docs/forwarding.md, "Rerouting") holds back only the
 * publishers whose messages went there (a flush per destination): a QoS 1 publisher on the
 * same node whose messages go to a live node gets its acknowledgements meanwhile. The
 * heartbeat TTL is long here, so that the dead node is not purged and its persistent
 * session not adopted during the test: the forward stays held until its client resumes it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useCluster } from '../support/cluster.js';
import { connectClient, sleep, tcpUrl, uid, withTimeout } from '../support/mqtt-clients.js';
import { arrivals, roamingClient, until } from '../support/durable.js';

const cluster = useCluster(['n1', 'n2', 'n3'], { STARLING_HEARTBEAT_TTL_MS: '60000' });

test('a QoS 1 publisher to a live node is not held while a forward to a dead node is', async (t) => {
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
  const held = withTimeout(toDead.client.publishAsync(deadTopic, '1', { qos: 1 }), 40_000, 'the held publish').then(() => (heldAcked = true));
  // n2 holds it once NATS says nobody listens for n1
  await until(() => c.node('n2').proc.lines.some((l) => l.includes('held until their subscribers are routed elsewhere')), 10_000, 'the forward held');
  for (let i = 0; i < 5; i++) await toLive.publish(liveTopic, `live-${i}`, { qos: 1 });
  assert.equal(heldAcked, false, 'the forward to the dead node is still held');
  await until(() => ['live-0', 'live-1', 'live-2', 'live-3', 'live-4'].every((m) => got3.includes(m)), 10_000, 'the live node got its messages');

  // the session resumed on n3: the held message goes there, and its publisher is acknowledged
  let again: number[] = [];
  await roamingClient([c.node('n3').mqttPort], { clientId }, t, (cl) => (again = arrivals(cl, deadTopic)));
  await held;
  await until(() => again.includes(1), 10_000, 'the held message');
});
