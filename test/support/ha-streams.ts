/**
 * A numbered QoS 1 or 2 stream from one publisher to one subscriber, for the failover tests
 * (test/integration/ha-*.test.ts): at most `window` publishes in flight (a stalled broker
 * stalls the publisher, as MQTT 5's receive maximum would), every send, acknowledgement and
 * arrival timed, then checked (what was acknowledged arrived, QoS 2 once, in order) and
 * summed up as what a failover cost.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { QoS, TestClient } from './mqtt-clients.js';
import { sleep } from './wait.js';

export interface HaStream {
  readonly topic: string;
  readonly qos: QoS;
  /** send time by seq */
  readonly sentAt: number[];
  /** acknowledgement time by seq (undefined: not acknowledged) */
  readonly ackedAt: (number | undefined)[];
  /** (seq, time) of every arrival, duplicates included, in arrival order */
  readonly arrivals: { seq: number; at: number }[];
  /** resolves once the publisher stopped and every publish settled */
  readonly done: Promise<void>;
  stop(): void;
}

/** Starts publishing `<prefix>-<seq>` to topic every `everyMs`; the subscriber must already be subscribed. */
export function startStream(pub: TestClient, sub: TestClient, topic: string, qos: QoS, opts: { everyMs?: number; window?: number } = {}): HaStream {
  const { everyMs = 5, window = 16 } = opts;
  const sentAt: number[] = [];
  const ackedAt: (number | undefined)[] = [];
  const arrivals: { seq: number; at: number }[] = [];
  sub.client.on('message', (t, payload) => {
    if (t === topic) arrivals.push({ seq: Number(payload.toString()), at: performance.now() });
  });
  let stopped = false;
  const inflight = new Set<Promise<void>>();
  const run = async () => {
    for (let seq = 0; !stopped; seq++) {
      while (inflight.size >= window) await Promise.race(inflight);
      sentAt[seq] = performance.now();
      const p: Promise<void> = pub.publish(topic, String(seq), { qos }).then(
        () => {
          ackedAt[seq] = performance.now();
        },
        () => {},
      );
      const tracked = p.finally(() => inflight.delete(tracked));
      inflight.add(tracked);
      await sleep(everyMs);
    }
    await Promise.all(inflight);
  };
  return {
    topic,
    qos,
    sentAt,
    ackedAt,
    arrivals,
    done: run(),
    stop() {
      stopped = true;
    },
  };
}

/** Every acknowledged message arrived; QoS 2 none twice; first arrivals in publish order. */
export function checkStream(s: HaStream): void {
  const seen = new Map<number, number>();
  for (const a of s.arrivals) seen.set(a.seq, (seen.get(a.seq) ?? 0) + 1);
  const lost = s.ackedAt.flatMap((at, seq) => (at !== undefined && !seen.has(seq) ? [seq] : []));
  assert.deepEqual(lost, [], `${s.topic}: acknowledged but never received`);
  if (s.qos === 2) {
    const twice = [...seen].filter(([, n]) => n > 1).map(([seq]) => seq);
    assert.deepEqual(twice, [], `${s.topic}: QoS 2 received more than once`);
  }
  const firsts: number[] = [];
  const once = new Set<number>();
  for (const a of s.arrivals) if (!once.has(a.seq)) (once.add(a.seq), firsts.push(a.seq));
  const outOfOrder = firsts.filter((seq, i) => i > 0 && seq < firsts[i - 1]!);
  assert.deepEqual(outOfOrder, [], `${s.topic}: received out of order`);
}

/**
 * What the failover at `failAt` cost the stream: the longest silence at the subscriber from
 * then on, how many messages took over `slowMs` from send to arrival, and when the last of
 * those arrived (recovered), in ms after the failure.
 */
export function streamCost(s: HaStream, failAt: number, slowMs = 250): string {
  const first = new Map<number, number>();
  for (const a of s.arrivals) if (!first.has(a.seq)) first.set(a.seq, a.at);
  let gap = 0;
  let prev = failAt;
  for (const a of s.arrivals) {
    if (a.at < failAt) continue;
    gap = Math.max(gap, a.at - prev);
    prev = a.at;
  }
  let delayed = 0;
  let recovered = 0;
  for (const [seq, at] of first) {
    if (at - s.sentAt[seq]! > slowMs) {
      delayed++;
      recovered = Math.max(recovered, at - failAt);
    }
  }
  // the publisher's own silence: the longest wait between acknowledgements after the failure
  const acks = s.ackedAt.filter((a): a is number => a !== undefined && a >= failAt).sort((a, b) => a - b);
  let ackGap = acks.length ? acks[0]! - failAt : 0;
  for (let i = 1; i < acks.length; i++) ackGap = Math.max(ackGap, acks[i]! - acks[i - 1]!);
  const acked = s.ackedAt.filter((a) => a !== undefined).length;
  return `QoS ${s.qos}: ${s.sentAt.length} sent, ${acked} acknowledged, ${first.size} received; gap ${gap.toFixed(0)} ms at the subscriber, ${ackGap.toFixed(0)} ms between acknowledgements; ${delayed} delayed over ${slowMs} ms; recovered ${recovered.toFixed(0)} ms after the failure`;
}
