/**
 * The durable session store port (README "Durable sessions"): where a persistent session's
 * state outlives the node holding it. Two implementations: JetStream (jetstream-store.ts,
 * the cluster's) and memory (memory-store.ts, standalone and unit tests). A leaf: types only.
 */

/** One subscription as stored, with its options. */
export interface StoredSubscription {
  topic: string;
  qos: number;
  nl: boolean;
  rap: boolean;
  rh: number;
  subId?: number;
}

/** A will kept with its session, published by whoever sees the session end when its node is gone. */
export interface StoredWill {
  /** the will message in the cluster wire encoding (shared/cluster/message-codec.ts), base64 */
  msg: string;
  /** seconds (MQTT 5 Will Delay Interval) */
  delay: number;
  /** seconds (the will's Message Expiry Interval), from when it is published */
  expiry?: number;
}

/** A persistent session's metadata: one record per clientid. */
export interface SessionRecord {
  clientid: string;
  /** the node holding the session (it may be dead) */
  node: string;
  /**
   * the session's incarnation: its messages live under this token, so that a discarded
   * session's late purge never touches the messages of the session that replaced it
   */
  gen: string;
  createdAt: number;
  /** seconds; 0xFFFFFFFF never expires */
  expiryInterval: number;
  /** epoch ms; 0 while connected */
  disconnectedAt: number;
  subscriptions: StoredSubscription[];
  will?: StoredWill;
  /** incoming QoS 2 packet identifiers awaiting PUBREL [MQTT-4.3.3-10] */
  awaitingRel: number[];
  /** outgoing QoS 2 messages the client acknowledged with PUBREC: [packet id, batch seq, place in the batch]; PUBREL owed */
  released: [number, number, number][];
  /** keys (node/session/move-dedup.ts) of QoS 2 messages it completed lately, whose copies are trimmed: a restore drops them if they come again */
  completed?: string[];
  /**
   * the node it was resumed or adopted from, and when (epoch ms), kept for a while: a QoS 1/2
   * forward that node never confirmed before it died is sent on here
   * (node/cluster/unreachable-forwards.ts); `back`: taken back by a run started again under
   * the name of the node that held it (durable-sessions.ts takeBackOwn)
   */
  movedFrom?: { node: string; at: number; back?: true };
}

/** A message owed to a session, in its store order. */
export interface StoredMessage {
  seq: number;
  data: Uint8Array;
}

/** A record as read, with the revision a conditional write needs. */
export interface RecordEntry {
  record: SessionRecord;
  revision: number;
}

/** Raised when the store's limits refuse a message (the offline messages are bounded overall). */
export class StoreFullError extends Error {}

export interface SessionStore {
  start(): Promise<void>;
  close(): Promise<void>;
  /** whether the store is reachable now */
  readonly connected: boolean;
  /** `cb` runs each time the store becomes unreachable */
  onDisconnect(cb: () => void): void;
  /** `cb` runs each time the store is reachable again */
  onReconnect(cb: () => void): void;
  /**
   * Appends a message for a session incarnation; resolves to its seq once stored (StoreFullError
   * when the limits refuse it). `id` names it: a retry of an append that was stored after all
   * is not stored twice.
   */
  append(clientid: string, gen: string, data: Uint8Array, id: string): Promise<number>;
  /** Removes a session incarnation's messages with seq below `seq`. */
  trim(clientid: string, gen: string, seq: number): Promise<void>;
  /** Removes every message of a session (all incarnations when `gen` is undefined). */
  purge(clientid: string, gen: string | undefined): Promise<void>;
  /** A session incarnation's messages, in order. */
  messages(clientid: string, gen: string): Promise<StoredMessage[]>;
  get(clientid: string): Promise<RecordEntry | undefined>;
  put(record: SessionRecord): Promise<void>;
  /** Writes only if the record is still at `revision` (one node of many acts on it); false when it changed. */
  update(record: SessionRecord, revision: number): Promise<boolean>;
  /** Deletes the record; with `revision`, only if it is still at it. */
  remove(clientid: string, revision?: number): Promise<boolean>;
  /** Every stored clientid. */
  clientids(): Promise<string[]>;
  /** How many messages and records the store holds (tests, the API). */
  counts(): Promise<{ messages: number; records: number }>;
}
