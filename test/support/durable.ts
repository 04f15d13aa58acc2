/**
 * What the durable-session tests share: a numbered stream of QoS 1/2 messages from a
 * publisher that records which of them were acknowledged, and the reading of a subscriber's
 * arrivals (order, duplicates, what is missing).
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { sleep, withTimeout, type QoS, type Scope, type TestClient } from './mqtt-clients.js';

/** A publisher sending 0, 1, 2, … on `topic`, the next after the previous one's acknowledgement. */
export interface NumberedStream {
  /** seqs acknowledged to the publisher (PUBACK / PUBREC) */
  readonly acked: number[];
  /** resolves once `n` are acknowledged */
  ackedAtLeast(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function startNumberedStream(pub: TestClient, topic: string, qos: QoS, opts: { count?: number; everyMs?: number; from?: number } = {}): NumberedStream {
  const acked: number[] = [];
  let running = true;
  const from = opts.from ?? 0;
  const count = opts.count ?? Infinity;
  const loop = (async () => {
    for (let seq = from; running && seq < from + count; seq++) {
      try {
        await withTimeout(pub.client.publishAsync(topic, String(seq), { qos }), 20_000, `publish ${seq}`);
        acked.push(seq);
      } catch {
        return; // the publisher's connection is gone: what was acknowledged is what counts
      }
      if (opts.everyMs) await sleep(opts.everyMs);
    }
  })();
  return {
    acked,
    async ackedAtLeast(n, timeoutMs = 20_000) {
      const t0 = Date.now();
      while (acked.length < n) {
        if (Date.now() - t0 > timeoutMs) throw new Error(`only ${acked.length} of ${n} acknowledged after ${timeoutMs} ms`);
        await sleep(5);
      }
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** The numbered payloads a client received on `topic`, in arrival order. */
export function arrivals(c: MqttClient, topic: string): number[] {
  const out: number[] = [];
  c.on('message', (tp, payload) => {
    if (tp !== topic) return;
    const s = payload.toString();
    if (/^\d+$/.test(s)) out.push(Number(s));
  });
  return out;
}

/** What a subscriber's arrivals say against what the publisher was told. */
export function check(acked: number[], got: number[]): { missing: number[]; duplicates: number[]; outOfOrder: number[] } {
  const seen = new Set<number>();
  const duplicates: number[] = [];
  const outOfOrder: number[] = [];
  let highest = -1;
  for (const s of got) {
    if (seen.has(s)) duplicates.push(s);
    else if (s < highest) outOfOrder.push(s);
    seen.add(s);
    if (s > highest) highest = s;
  }
  return { missing: acked.filter((s) => !seen.has(s)), duplicates, outOfOrder };
}

/**
 * An MQTT.js client that moves to the next server when its connection is lost (clean
 * session 0, so its in-memory QoS 2 state goes along, as a real client's would), as an
 * application with a list of the cluster's nodes does.
 */
export async function roamingClient(ports: number[], opts: mqtt.IClientOptions, scope: Scope, onConnecting?: (c: MqttClient) => void): Promise<MqttClient> {
  const c = mqtt.connect({ servers: ports.map((port) => ({ host: '127.0.0.1', port })), protocolVersion: 4, clean: false, reconnectPeriod: 100, connectTimeout: 5000, ...opts });
  // what a resumed session is owed comes right behind CONNACK: listeners go on first
  onConnecting?.(c);
  scope.after(() => new Promise<void>((r) => c.end(true, {}, () => r())));
  // as a real client, it tries again after an error (a node still waiting for JetStream to elect a leader)
  await withTimeout(new Promise<void>((resolve) => c.once('connect', () => resolve())), 20_000, 'first CONNACK');
  return c;
}

/** Resolves once `pred` holds, polling. */
export async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

/** What JetStream holds for durable sessions: records and messages, overall and of some clientids. */
export async function durableState(natsUrl: string, clientids: string[] = []): Promise<{ records: string[]; messages: number; messagesOf: number; recordEntriesOf: number }> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager, jetstream } = await import('@nats-io/jetstream');
  const { Kvm } = await import('@nats-io/kv');
  const { MESSAGES_STREAM, RECORDS_BUCKET, messageSubject, decodeClientId, encodeClientId } = await import('../../node/session/durable/keys.js');
  const nc = await connect({ servers: natsUrl.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(MESSAGES_STREAM);
    let messagesOf = 0;
    for (const id of clientids) {
      const subject = messageSubject(id, undefined);
      const i = await jsm.streams.info(MESSAGES_STREAM, { subjects_filter: subject });
      messagesOf += Object.values(i.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    }
    // what the bucket's stream holds for them: records, and markers of removed ones
    let recordEntriesOf = 0;
    for (const id of clientids) {
      const subject = `$KV.${RECORDS_BUCKET}.${encodeClientId(id)}`;
      const i = await jsm.streams.info(`KV_${RECORDS_BUCKET}`, { subjects_filter: subject });
      recordEntriesOf += Object.values(i.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    }
    const kv = await new Kvm(jetstream(nc)).open(RECORDS_BUCKET);
    const records: string[] = [];
    for await (const k of await kv.keys()) records.push(decodeClientId(k));
    return { records, messages: info.state.messages, messagesOf, recordEntriesOf };
  } finally {
    await nc.close();
  }
}
