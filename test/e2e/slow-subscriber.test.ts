// A subscriber that never reads, against a real node process: while a publisher sends
// megabytes, what the node buffers for it stays bounded (STARLING_OUT_BUFFER_LIMIT), QoS 0
// messages to it are dropped and counted, it is disconnected after STARLING_SEND_TIMEOUT_MS
// (counted as send_timeout), and a healthy subscriber of the same topic gets everything.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import * as mqttPacket from 'mqtt-packet';
import { startNode, type NodeProcess } from '../support/broker.js';
import { api } from '../support/gateway.js';
import { RawClient, uid } from '../support/mqtt5.js';
import { eventually } from '../support/wait.js';

const OUT_BUFFER_LIMIT = 256 * 1024;
const SEND_TIMEOUT_MS = 2000;

let node: NodeProcess | undefined;

before(async () => {
  node = await startNode({
    name: 'slow-subscriber',
    env: { STARLING_OUT_BUFFER_LIMIT: String(OUT_BUFFER_LIMIT), STARLING_SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS), STARLING_MAX_MQUEUE: '100' },
  });
});

after(async () => {
  await node?.stop();
});

const apiBase = (): string => `http://127.0.0.1:${node!.listeners['http:management']}`;

/** One counter of GET /api/v4/metrics (this node's). */
async function metric(name: string): Promise<number> {
  const r = await api(apiBase(), 'GET', '/api/v4/metrics');
  const rows = (r.body as { data: { metrics: Record<string, number> }[] }).data;
  return rows[0]!.metrics[name] ?? 0;
}

async function shutdownCount(reason: string): Promise<number> {
  const r = await api(apiBase(), 'GET', '/api/v4/listeners');
  const l = (r.body as { data: { listeners: { protocol: string; shutdown_count: Record<string, number> | [] }[] }[] }).data[0]!.listeners.find((x) => x.protocol === 'mqtt:tcp')!;
  return Array.isArray(l.shutdown_count) ? 0 : (l.shutdown_count[reason] ?? 0);
}

const rss = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

describe('a subscriber that never reads', () => {
  it('is bounded, its QoS 0 dropped and counted, it is disconnected after the send timeout; a healthy subscriber gets all 32 MB', async (t) => {
    const port = node!.mqttPort;
    const topic = `never-reads/${uid()}`;
    const droppedBefore = await metric('delivery.dropped.qos0_msg');
    const timeoutsBefore = await shutdownCount('send_timeout');
    // the one that never reads: subscribed, then its socket is not read any more
    const stuck = await RawClient.connected(t, port, { protocolVersion: 5 });
    assert.deepEqual(await stuck.subscribe([{ topic, qos: 0 }]), [0]);
    stuck.socket.pause();
    const healthy = await RawClient.connected(t, port, { protocolVersion: 4 });
    assert.deepEqual(await healthy.subscribe([{ topic, qos: 0 }]), [0]);
    const pub = await RawClient.connected(t, port, { protocolVersion: 4 });
    const rss0 = rss(node!.proc.pid!);

    const SIZE = 8 * 1024;
    const N = 4096; // 32 MB
    const packet = mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.alloc(SIZE, 7), qos: 0, retain: false, dup: false }, { protocolVersion: 4 });
    let peak = rss0;
    for (let i = 0; i < N; i++) {
      // stay at most 16 messages (128 KB) ahead of the healthy subscriber: QoS 0 has no other flow
      // control, and more than the out-buffer limit (256 KB) unread is dropped for it as for the stuck one
      while (i - healthy.received.length > 16) await new Promise((r) => setTimeout(r, 1));
      if (!pub.socket.write(packet)) await new Promise((r) => pub.socket.once('drain', r));
      if (i % 256 === 0) peak = Math.max(peak, rss(node!.proc.pid!));
    }
    // counted as PUBLISH packets: what it received holds its CONNACK and SUBACK too
    const publishes = (): number => healthy.received.filter((p) => p.cmd === 'publish').length;
    await healthy.waitUntil(() => (publishes() >= N ? true : undefined), 20_000, 'the healthy subscriber to get everything');
    assert.equal(publishes(), N);
    // most of the 32 MB never went to the stuck one: dropped at the node, counted
    const dropped = (await metric('delivery.dropped.qos0_msg')) - droppedBefore;
    assert.ok(dropped > N / 2, `${dropped} of ${N} QoS 0 messages dropped for the stuck subscriber`);
    assert.ok(peak - rss0 < 64 * 1024 * 1024, `the node grew by ${((peak - rss0) / 1e6).toFixed(0)} MB`);
    // then it is disconnected, and counted
    await eventually(async () => assert.equal((await shutdownCount('send_timeout')) - timeoutsBefore, 1), SEND_TIMEOUT_MS + 10_000, 200);
    // (it sees the close once it reads again: behind what its socket buffers hold)
    stuck.socket.resume();
    await stuck.waitClosed(10_000);
    assert.equal(healthy.isClosed, false);
    assert.equal(pub.isClosed, false);
    healthy.queue.splice(0);
    assert.deepEqual(await healthy.sync(), [], 'the healthy subscriber is still served');
    console.log(`never-reads: ${dropped} of ${N} × ${SIZE / 1024} KB dropped for the stuck subscriber; node RSS +${((peak - rss0) / 1e6).toFixed(1)} MB at most`);
  });
});
