import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, jetstream, jetstreamManager, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { natsServers } from '../../../shared/cluster/nats/connection.js';
import type { Logger } from '../../../shared/logger.js';
import { decodeClientId, encodeClientId, messageSubject, MESSAGES_STREAM, RECORDS_BUCKET, SUBJECT_PREFIX } from './keys.js';
import { StoreFullError, type RecordEntry, type SessionRecord, type SessionStore, type StoredMessage } from './store.js';

export interface JetStreamStoreOptions {
  /** NATS_URL: one server or a comma list */
  url: string;
  name: string;
  log: Logger;
  /** JetStream replicas of the stream and the bucket (3 on a NATS cluster of three) */
  replicas: number;
  /** bounds on the owed messages: overall (bytes, count) and per session incarnation (max_mqueue plus the inflight window) */
  maxBytes: number;
  maxMessages: number;
  perSession: number;
}

/** JetStream API error codes (nats-server's errors.json) the store reacts to */
const STREAM_STORE_FAILED = 10077; // "maximum messages/bytes exceeded" with discard new
const STREAM_NOT_FOUND = 10059;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * The session store on NATS JetStream (nats-server -js, 2.9 or later): a KV bucket holds one
 * record per persistent session, a stream holds the messages owed to them, one subject per
 * session incarnation (`starling.sess.<clientid base64url>.<gen>`), bounded overall (new
 * messages refused: counted as queue_full drops) and per subject (oldest dropped, as the
 * in-memory queue drops them). Its own NATS connection: a resume reading a long queue
 * does not delay forwarding.
 */
export class JetStreamSessionStore implements SessionStore {
  private nc: NatsConnection | undefined;
  private js!: JetStreamClient;
  private jsm!: JetStreamManager;
  private kv!: KV;
  connected = false;
  private readonly disconnects: (() => void)[] = [];
  private readonly reconnects: (() => void)[] = [];

  constructor(private readonly opts: JetStreamStoreOptions) {}

  onDisconnect(cb: () => void): void {
    this.disconnects.push(cb);
  }

  onReconnect(cb: () => void): void {
    this.reconnects.push(cb);
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.connected = false;
        this.opts.log.warn('durable session store disconnected from NATS');
        for (const cb of this.disconnects) cb();
      } else if (s.type === 'reconnect') {
        this.connected = true;
        this.opts.log.info('durable session store reconnected to NATS');
        for (const cb of this.reconnects) cb();
      }
    }
  }

  async start(): Promise<void> {
    const o = this.opts;
    this.nc = await connect({ servers: natsServers(o.url), name: `${o.name} sessions`, waitOnFirstConnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 5000, maxPingOut: 2 });
    this.connected = true;
    void this.watch(this.nc).catch(() => {});
    this.js = jetstream(this.nc, { timeout: 5000 });
    this.jsm = await jetstreamManager(this.nc, { timeout: 5000 });
    const config = {
      name: MESSAGES_STREAM,
      subjects: [`${SUBJECT_PREFIX}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.New,
      max_bytes: o.maxBytes > 0 ? o.maxBytes : -1,
      max_msgs: o.maxMessages > 0 ? o.maxMessages : -1,
      max_msgs_per_subject: o.perSession > 0 ? o.perSession : -1,
      num_replicas: o.replicas,
    };
    try {
      await this.jsm.streams.info(MESSAGES_STREAM);
      await this.jsm.streams.update(MESSAGES_STREAM, config);
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== STREAM_NOT_FOUND) throw err;
      try {
        await this.jsm.streams.add(config);
      } catch (err2) {
        // another node created it at the same moment
        await this.jsm.streams.info(MESSAGES_STREAM).catch(() => Promise.reject(err2));
      }
    }
    this.kv = await new Kvm(this.js).create(RECORDS_BUCKET, { history: 1, replicas: o.replicas, storage: StorageType.File });
  }

  async close(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    this.connected = false;
    await nc?.drain().catch(() => nc.close());
  }

  async append(clientid: string, gen: string, data: Uint8Array, id: string): Promise<number> {
    try {
      // the stream's duplicate window (2 minutes) drops a retry of what it has already
      return (await this.js.publish(messageSubject(clientid, gen), data, { msgID: id })).seq;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === STREAM_STORE_FAILED) throw new StoreFullError(err.message);
      throw err;
    }
  }

  async trim(clientid: string, gen: string, seq: number): Promise<void> {
    await this.jsm.streams.purge(MESSAGES_STREAM, { filter: messageSubject(clientid, gen), seq });
  }

  async purge(clientid: string, gen: string | undefined): Promise<void> {
    await this.jsm.streams.purge(MESSAGES_STREAM, { filter: messageSubject(clientid, gen) });
  }

  async messages(clientid: string, gen: string): Promise<StoredMessage[]> {
    const subject = messageSubject(clientid, gen);
    const info = await this.jsm.streams.info(MESSAGES_STREAM, { subjects_filter: subject });
    const count = info.state.subjects?.[subject] ?? 0;
    if (count === 0) return [];
    // an ordered consumer (a filter_subject, which 2.9 has) read to the end
    const consumer = await this.js.consumers.get(MESSAGES_STREAM, { filter_subjects: subject });
    const out: StoredMessage[] = [];
    try {
      for (;;) {
        const batch = await consumer.fetch({ max_messages: Math.min(count, 1000), expires: 2000 });
        let pending = -1;
        let got = 0;
        for await (const m of batch) {
          out.push({ seq: m.seq, data: m.data });
          pending = m.info.pending;
          got++;
          if (pending === 0) break;
        }
        if (pending === 0 || got === 0) break;
      }
    } finally {
      await consumer.delete().catch(() => {});
    }
    return out;
  }

  async get(clientid: string): Promise<RecordEntry | undefined> {
    const e = await this.kv.get(encodeClientId(clientid));
    if (!e || e.operation !== 'PUT' || e.value.length === 0) return undefined;
    return { record: JSON.parse(fromUtf8.decode(e.value)) as SessionRecord, revision: e.revision };
  }

  async put(record: SessionRecord): Promise<void> {
    await this.kv.put(encodeClientId(record.clientid), utf8.encode(JSON.stringify(record)));
  }

  async update(record: SessionRecord, revision: number): Promise<boolean> {
    try {
      await this.kv.update(encodeClientId(record.clientid), utf8.encode(JSON.stringify(record)), revision);
      return true;
    } catch (err) {
      if (err instanceof JetStreamApiError) return false; // wrong last sequence: someone else wrote it
      throw err;
    }
  }

  async remove(clientid: string, revision?: number): Promise<boolean> {
    const key = encodeClientId(clientid);
    try {
      await this.kv.purge(key, revision === undefined ? undefined : { previousSeq: revision });
    } catch (err) {
      if (err instanceof JetStreamApiError) return false;
      throw err;
    }
    // (not waited for: a marker left is only its few bytes until the next removal of that clientid)
    void this.dropMarker(key).catch((err: Error) => this.opts.log.debug({ clientid, err: err.message }, 'durable session record marker not dropped'));
    return true;
  }

  /**
   * A KV purge leaves a marker in the bucket's stream for good: one per persistent session
   * that ever ended. It goes too, unless the key was written again since (the stream purge
   * keeps what comes after the marker).
   */
  private async dropMarker(key: string): Promise<void> {
    const stream = `KV_${RECORDS_BUCKET}`;
    const subject = `$KV.${RECORDS_BUCKET}.${key}`;
    const last = await this.jsm.streams.getMessage(stream, { last_by_subj: subject });
    if (last === null || last.header.get('KV-Operation') !== 'PURGE') return;
    await this.jsm.streams.purge(stream, { filter: subject, seq: last.seq + 1 });
  }

  async clientids(): Promise<string[]> {
    const out: string[] = [];
    for await (const k of await this.kv.keys()) out.push(decodeClientId(k));
    return out;
  }

  async counts(): Promise<{ messages: number; records: number }> {
    const info = await this.jsm.streams.info(MESSAGES_STREAM);
    return { messages: info.state.messages, records: (await this.clientids()).length };
  }
}
