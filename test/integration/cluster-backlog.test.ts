/**
 * A real two-node cluster whose NATS server stops reading (SIGSTOP) while publishers on n1
 * flood a topic subscribed on n2: n1 stops reading those publishers (instead of reading
 * what it could only drop) but keeps their connections alive, its local traffic goes on,
 * and cross-node delivery resumes once the server reads again (SIGCONT).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { closeAllClients, connectClient, RawClient, tcpUrl, uid } from '../support/mqtt-clients.js';
import { suspendProcess } from '../support/processes.js';

/** n1's limit on what NATS may be behind (STARLING_NATS_MAX_BACKLOG_MB): backlogged from half of it */
const MAX_BACKLOG_MB = 1;
/** how often n1 publishes its metrics on $SYS: the one way to read them while NATS (and so RPC) is stopped */
const SYS_INTERVAL_MS = 200;
const PAYLOAD_BYTES = 16 * 1024;
const MB = 1024 * 1024;

let c: TestCluster;
let natsStopped = false;

before(async () => {
  c = await startCluster(['n1', 'n2'], { STARLING_NATS_MAX_BACKLOG_MB: String(MAX_BACKLOG_MB), STARLING_SYS_INTERVAL_MS: String(SYS_INTERVAL_MS) });
});

after(async () => {
  if (c?.nats.proc.alive) continueNats();
  await closeAllClients();
  await c?.stop();
});

async function stopNats(): Promise<void> {
  natsStopped = true;
  await suspendProcess(c.nats.proc.pid);
}

function continueNats(): void {
  if (!natsStopped) return;
  natsStopped = false;
  process.kill(c.nats.proc.pid, 'SIGCONT');
}

const publishPacket = (topic: string, payload: Buffer): Buffer => mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false });

test('while NATS reads nothing, n1 stops reading publishers whose messages go to n2, keeps them connected and its local traffic going; delivery to n2 resumes after', async (t) => {
  const id = uid('bl');
  const topic = `t/${id}`;
  const n1 = c.node('n1');
  const sub = await connectClient(tcpUrl(c.node('n2').mqttPort), { clientId: uid('sub') }, t);
  await sub.subscribe('t/#', { qos: 0 });
  // the flooder writes without waiting; the pinger sends a batch, then a PINGREQ, and waits for its PINGRESP
  const { raw: flooder } = await RawClient.connect(n1.mqttPort, { clientId: uid('flooder'), keepalive: 2 }, t);
  const { raw: pinger } = await RawClient.connect(n1.mqttPort, { clientId: uid('pinger'), keepalive: 2 }, t);
  const local = await connectClient(tcpUrl(n1.mqttPort), { clientId: uid('local') }, t);
  const localTopic = `local/${id}`;
  const metricTopic = `$SYS/brokers/${n1.nodeName}/metrics/messages/qos0/received`;
  await local.subscribe({ [localTopic]: { qos: 1 }, [metricTopic]: { qos: 0 } });
  /** n1's count of QoS 0 messages received, as of a $SYS tick after now */
  const n1Received = async (): Promise<number> => Number((await local.waitForMessage(metricTopic, { from: local.mark(), timeoutMs: 5_000 })).payload);

  // n2's route has reached n1 once a publish there arrives
  let probes = 0;
  await eventually(() => {
    pinger.socket.write(publishPacket(topic, Buffer.from(`probe-${probes++}`)));
    assert.ok(sub.messages(topic).length > 0, 'a probe from n1 reached n2');
  }, 5_000, 50);

  const payload = Buffer.alloc(PAYLOAD_BYTES, 7);
  const packet = publishPacket(topic, payload);
  const FLOOD_BYTES = 32 * MB;
  const BATCH = 4;
  const WINDOW_MS = 4_000; // longer than keepalive × 1.5 (3 s), shorter than NATS's stale-connection detection (10 s)
  let pingerBatches = 0;
  let localRoundTrips = 0;
  let readBefore: number;
  let read: number;
  let flooderQueued: number;
  let closed: { flooder: boolean; pinger: boolean };
  await stopNats();
  try {
    readBefore = await n1Received();
    // the flooder hands its socket far more than n1 takes while throttled, all at once
    let flooded = 0;
    for (; flooded * packet.length < FLOOD_BYTES; flooded++) flooder.socket.write(packet);
    let flooding = true;
    const pinging = (async () => {
      while (flooding) {
        for (let i = 0; i < BATCH; i++) pinger.socket.write(packet);
        // n1 reads the throttled connection again after 500 ms at most: its PINGREQ is answered
        await pinger.ping(5_000);
        pingerBatches++;
      }
    })();
    pinging.catch(() => {}); // awaited below: a failed PINGREQ fails the test there
    const end = Date.now() + WINDOW_MS;
    try {
      // local traffic on n1 goes on meanwhile: a QoS 1 round trip to its own subscription
      while (Date.now() < end) {
        const from = local.mark();
        await local.publish(localTopic, `rt-${localRoundTrips}`, { qos: 1 });
        await local.waitForMessage((m) => m.topic === localTopic && m.payload === `rt-${localRoundTrips}`, { from, timeoutMs: 3_000 });
        localRoundTrips++;
      }
    } finally {
      flooding = false;
      await pinging;
    }
    read = (await n1Received()) - readBefore;
    flooderQueued = flooder.socket.writableLength;
    t.diagnostic(
      `NATS stopped ${WINDOW_MS} ms: n1 read ${read} of the ${flooded + pingerBatches * BATCH} QoS 0 messages written (${((read * PAYLOAD_BYTES) / MB).toFixed(1)} MB); ` +
        `flooder's socket still holds ${(flooderQueued / MB).toFixed(1)} MB; pinger ${pingerBatches} PINGREQs answered; ${localRoundTrips} local QoS 1 round trips`,
    );
    closed = { flooder: flooder.closed, pinger: pinger.closed };
  } finally {
    continueNats();
  }
  // (a) n1 read far less than was written to it: the rest waits in the flooder's socket
  assert.ok(read * PAYLOAD_BYTES < FLOOD_BYTES / 4, `n1 read ${read} messages of ${PAYLOAD_BYTES} bytes while NATS read nothing`);
  assert.ok(flooderQueued > FLOOD_BYTES / 4, `the flooder's socket holds ${flooderQueued} bytes n1 did not read`);
  // (b) the throttled connections were still read now and then, and local traffic was not held up
  assert.deepEqual(closed, { flooder: false, pinger: false }, 'the throttled publishers stay connected (keepalive 2 s)');
  assert.ok(pingerBatches >= 2, `${pingerBatches} PINGREQs of the throttled pinger answered`);
  // a client throttled too would get one round trip per 500 ms at most: 8 or 9
  assert.ok(localRoundTrips >= 16, `${localRoundTrips} local QoS 1 round trips in ${WINDOW_MS} ms`);

  // the flooder's backlog is not needed any more: the rest is about delivery resuming
  await flooder.destroy();
  // (c) once NATS reads again, what n1 publishes reaches n2 again (a QoS 0 publish may still be dropped at first)
  let sent = 0;
  await eventually(() => {
    pinger.socket.write(publishPacket(topic, Buffer.from(`after-${sent++}`)));
    assert.ok(sub.messages((m) => m.payload.startsWith('after-')).length > 0, 'a publish on n1 reached n2 after SIGCONT');
  }, 15_000, 100);
  await pinger.ping(5_000);
});
