/**
 * The transport of clustered mode: one NATS connection per process.
 *
 * RPC: a request is published on rpcSubject(node) with the JSON body `{method, params}`; the
 * node answers with the JSON of an RpcResult (see rpc-wire.ts).
 *
 * Forwarding: messages for one node are published on forwardSubject(node), several per NATS
 * message (one NATS message per node per I/O turn, or per 64 KB: at cross-node rates a NATS
 * message per MQTT message costs more than the routing itself). No NATS headers: a topic
 * filter may hold characters a header value cannot. A NATS message body is
 *
 *   8 bytes     the sender's instance id (random, one per NatsTransport)
 *   u64 BE      floor: the lowest seq the sender still holds for this destination when it
 *               sent the batch (every reliable frame below it is acknowledged or given up on)
 *   then, for each forwarded message:
 *     u32 BE    n, the length of what follows in this entry
 *     u64 BE    seq (two u32 BE, high first): 0 for a QoS 0 message, else its sequence number
 *     n - 8     the frame:
 *       byte 0      flags: bit 0 kind (0 'route', 1 'shared'), bit 1 filter present,
 *                   bit 2 group present; other bits 0 (a frame with any set is dropped)
 *       [u32 BE length + UTF-8 filter]   when bit 1
 *       [u32 BE length + UTF-8 group]    when bit 2
 *       rest        the encoded message (message-codec.ts), or the bytes given to forward()
 *
 * Sending, entries are written straight into the batch: a Message is encoded in place (no
 * buffer of its own, no copy into the batch), and batches follow one another in a slab of
 * SLAB_BYTES per destination, handed to the client as views. Receiving, the frames handed on
 * are views into the NATS message. A reliable frame's entry stays a view into its slab until
 * confirmed; slabs hold them only while connected (frames made while not are buffers of
 * their own), when confirmations come every confirmIntervalMs or backlog probe.
 *
 * A request with an empty body on forwardSubject(node) is a probe: whoever listens for the
 * node answers it with an empty reply (see "Reliable forwards").
 *
 * Reliable forwards. NATS core delivers at most once, and the broker acknowledges a QoS 1/2
 * PUBLISH once flush() resolved. So forward(…, reliable = true) (QoS 1/2 messages) must not
 * be lost once flush() said so, NATS outages included:
 *
 * - Every reliable frame gets a sequence number (1, 2, 3… per destination) and stays in its
 *   destination's "unconfirmed" list until the destination acknowledges it. A batch holding reliable frames carries ackSubject(instance
 *   id) as its reply subject; the listener, once it has handed the batch's frames to its
 *   handler, publishes there (once per I/O turn per sender and listener) the highest seq it
 *   delivered from that sender: u64 BE, then the listener's node name in UTF-8. That confirms
 *   every frame up to it. QoS 0 frames are never kept (seq 0).
 *   Waiting for the destination, not just for the NATS server, covers a destination whose own
 *   connection dropped, and keeps what is in flight between two nodes within the publishers'
 *   windows: a node is never sent faster than it takes messages in (measured on the cross-node
 *   QoS 1 bench: confirming on the server's PONG, the receiving node was handed five times what
 *   its subscribers could take and spent its time dropping it from their queues).
 *   Connections are told apart by the server's id and the client id it assigned (nc.info).
 * - While not connected, reliable frames are kept and not published; QoS 0 frames are dropped.
 * - On a new connection (and whenever the connection is found to differ from the one a
 *   destination's frames went out on), every unconfirmed frame of a destination is published
 *   again, in order, before any new frame for it. After a reconnect (not on the first
 *   connection) this waits until a probe shows the destination listens on NATS again: a
 *   restarted server may get our resend before the destination has subscribed again, and
 *   would drop what nobody received. Probes are retried every PROBE_RETRY_MS; after
 *   verifyTimeoutMs without an answer (a dead node) the frames are published anyway. QoS 0
 *   frames for a destination being probed are dropped (they would overtake the resend).
 * - A destination whose oldest unconfirmed frame went out on the current connection more than
 *   STALL_PROBE_MS ago is probed: if nobody listens for it (a node that died: its subscribers
 *   went with it) or nobody answers for verifyTimeoutMs (frozen), the frames are given up on,
 *   with a warning; if it answers and the frame is older than ackTimeoutMs, every unconfirmed
 *   frame is sent to it again (it drops those it had: only acknowledgements were lost).
 * - The receiver keeps, per listener and per sender instance id, the highest seq it delivered,
 *   and drops frames with a seq at or below it (repeats: a resend), and frames that do not
 *   follow it, unless the batch's floor says the ones between were settled (a gap: NATS
 *   dropped frames while the receiver's connection was down; they come again, in order, once
 *   the sender finds them unacknowledged). So a frame is delivered once, and never after a
 *   higher one from the same sender. The first frame from a sender it does not know is taken
 *   as it comes. The map is an LRU of DEDUPE_SENDERS sender instances: a resend from a sender
 *   evicted meanwhile may be delivered twice.
 * - flush() resolves once every reliable frame forwarded before the call is acknowledged, and a
 *   PING sent after the call was answered (so QoS 0 frames went out too). That may take a
 *   reconnect, a probe and a resend. It rejects after flushTimeoutMs when that can't happen in
 *   time, keeping the frames: a later flush() can still succeed.
 * - Unconfirmed frames are bounded by maxUnconfirmedBytes (default 64 MB) per transport; beyond
 *   that the oldest are dropped and an error logged with counts. Those messages may be lost
 *   although a later flush() resolves. So is a frame larger than the server's max_payload.
 *
 * Backlog. The client buffers whatever is published, without limit, and under load the
 * socket is written only between I/O turns: while libuv reads megabytes from flooding
 * publishers in one turn, frames pile up (measured: 10 QoS 0 publishers on a 2-core host
 * grew the sending node by 500 MB in 5 s, delivering a fifth of what it read). So the
 * transport tracks, per connection, the bytes it published and how many the server has read:
 * a PING (nc.flush()) goes out every maxBacklogBytes / BACKLOG_PROBES published, and its
 * PONG shows everything before it read. Forwards that are not reliable (QoS 0) are dropped,
 * and forward() returns false, while the difference exceeds maxBacklogBytes (default 16 MB:
 * on the cross-node bench 32 MB and more left frames queued from one turn to the next, and
 * memory grew). Dropping only there would always hit the publishers libuv reads last in a
 * turn, so a turn in which it happened sets the share sent from then on, picked at random,
 * to what did get through; the share grows back by 10% a turn without such drops. Reliable
 * frames are never dropped for the backlog (flush() waits for them anyway).
 *
 * Dropping is the last resort: from half of maxBacklogBytes behind, `backlogged` is true and
 * the broker stops reading from the publishers whose messages it forwards; onDrained()
 * callbacks run once a PONG shows less than a quarter behind, and whenever the connection
 * changes or closes (measured on the cross-node bench: dropping alone read three times what
 * went out; pausing the publishers forwarded more than a third more, with no drops).
 *
 * What stays at most once: a frame that reached the server but not the destination because
 * the destination's own connection was down while the sender's was up (NATS drops a message
 * nobody is subscribed to, and the server confirmed it), and anything unconfirmed when the
 * process exits or close() is called.
 *
 * NATS going away: the client reconnects forever; meanwhile request() fails at once with
 * 101, forward() keeps reliable frames and drops the rest, and flush() waits (up to its
 * timeout) for the connection to come back. Nothing the connection does throws out of this
 * class or leaves a promise rejected unhandled.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';
import { RpcError, type RpcMethod, type RpcParams, type RpcReply } from '../rpc.js';
import { encodedSizeBound, encodeMessageInto } from './message-codec.js';
import { answer, decodeResult, encodeRequest, rpcFailure, UNKNOWN_ERROR } from './rpc-wire.js';
import { ackSubject, forwardSubject, rpcSubject } from './subjects.js';
import type { ForwardPayload, ForwardTarget, RequestHandler, Transport } from './transport.js';

/** a batch is sent once it holds this much, rather than at the end of the I/O turn */
const BATCH_BYTES = 64 * 1024;
/**
 * Batches are written into slabs of this size, one after the other, each slab one allocation:
 * an allocation per message (the frame, then the batch) cost a third of the sending node's
 * time at cross-node rates (measured: `new Uint8Array` 358 ns of encoding's 693 ns).
 */
const SLAB_BYTES = 256 * 1024;

export interface NatsTransportOptions {
  /** e.g. nats://127.0.0.1:4222 */
  url: string;
  /** connection name shown by the NATS server's monitoring */
  name?: string;
  log?: Logger;
  /** how long flush() waits before rejecting (default 2000 ms) */
  flushTimeoutMs?: number;
  /** reliable frames kept for a resend, at most (default 64 MB); the oldest beyond are dropped */
  maxUnconfirmedBytes?: number;
  /** after a reconnect, how long a destination may stay unanswering before its frames are sent anyway (default 2000 ms) */
  verifyTimeoutMs?: number;
  /** how long a destination may leave a reliable frame unacknowledged before it is probed (default 1000 ms; see "Reliable forwards") */
  ackTimeoutMs?: number;
  /** bytes published and not yet read by the server beyond which forwards that are not reliable are dropped (default 16 MB; see "Backlog") */
  maxBacklogBytes?: number;
}

type ForwardHandler = (target: ForwardTarget, encoded: Uint8Array) => void;

const DEFAULT_FLUSH_TIMEOUT_MS = 2_000;
const DEFAULT_MAX_UNCONFIRMED_BYTES = 64 * 1024 * 1024;
const DEFAULT_VERIFY_TIMEOUT_MS = 2_000;
const DEFAULT_ACK_TIMEOUT_MS = 1_000;
const DEFAULT_MAX_BACKLOG_BYTES = 16 * 1024 * 1024;
/** `backlogged` from this share of maxBacklogBytes behind, until less than RESUME_SHARE is */
const PAUSE_SHARE = 1 / 2;
const RESUME_SHARE = 1 / 4;
/** a backlog probe (PING) is sent each time this share of maxBacklogBytes was published */
const BACKLOG_PROBES = 16;
/** see steerBacklog() */
const MIN_PASS = 0.01;
const PASS_INCREASE = 1.1;
/** backlog probes in flight, at most (a server that stopped answering gets no flood of PINGs) */
const MAX_BACKLOG_PROBES = 2 * BACKLOG_PROBES;
/** a probe unanswered this long is sent again (a busy receiver answers late, not never) */
const PROBE_TIMEOUT_MS = 500;
/**
 * A destination that leaves a reliable frame unacknowledged this long is probed: a node that
 * died is found by NATS's "no responders" at once, and its frames given up on, so that the
 * publishers' acknowledgements wait no longer than this for it (see "Reliable forwards").
 */
const STALL_PROBE_MS = 100;
/** pause between probes that found nobody listening */
const PROBE_RETRY_MS = 50;
/** sender instances a listener remembers the highest delivered seq of */
const DEDUPE_SENDERS = 1024;
/** at most one "unconfirmed frames dropped" error per this long */
const DROP_LOG_EVERY_MS = 5_000;
// Short: on a LAN a restarted NATS server is back within a second; waiting 2 s (the
// client's default) would stretch every outage.
const RECONNECT_TIME_WAIT_MS = 250;
const RECONNECT_JITTER_MS = 100;
// A server that vanished without closing the socket (host down, partition) is noticed
// after PING_INTERVAL * MAX_PINGS_OUT instead of the client's default 4 minutes.
const PING_INTERVAL_MS = 5_000;
const MAX_PINGS_OUT = 2;
// close() first drains (answers in flight get out); it must not wait long on a dead server.
const DRAIN_TIMEOUT_MS = 2_000;

const FLAG_SHARED = 1;
const FLAG_FILTER = 2;
const FLAG_GROUP = 4;
const KNOWN_FLAGS = FLAG_SHARED | FLAG_FILTER | FLAG_GROUP;
const ROUTE_TARGET: ForwardTarget = Object.freeze({ kind: 'route' });

const INSTANCE_ID_BYTES = 8;
/** instance id and floor in front of the entries of a batch */
const BATCH_HEADER = INSTANCE_ID_BYTES + 8;
/** u32 length + u64 seq in front of each frame of a batch */
const ENTRY_HEADER = 12;
const TWO_32 = 2 ** 32;
const EMPTY = new Uint8Array(0);

const utf8Dec = new TextDecoder();

/** At least the size of the batch entry writeEntry() makes (strings counted at 3 bytes a UTF-16 unit). */
function entryBound(target: ForwardTarget, payload: ForwardPayload): number {
  return (
    ENTRY_HEADER +
    1 +
    (target.filter !== undefined ? 4 + 3 * target.filter.length : 0) +
    (target.group !== undefined ? 4 + 3 * target.group.length : 0) +
    (payload instanceof Uint8Array ? payload.length : encodedSizeBound(payload))
  );
}

/**
 * Writes a batch entry (u32 length, u64 seq, frame: format in the file comment) at `at`, the
 * message encoded in place; `out` has entryBound() bytes there. Returns where it ends.
 */
function writeEntry(out: Buffer, at: number, seq: number, target: ForwardTarget, payload: ForwardPayload): number {
  let p = at + ENTRY_HEADER;
  const { filter, group } = target;
  out[p++] = (target.kind === 'shared' ? FLAG_SHARED : 0) | (filter !== undefined ? FLAG_FILTER : 0) | (group !== undefined ? FLAG_GROUP : 0);
  if (filter !== undefined) {
    const n = out.write(filter, p + 4);
    out.writeUInt32BE(n, p);
    p += 4 + n;
  }
  if (group !== undefined) {
    const n = out.write(group, p + 4);
    out.writeUInt32BE(n, p);
    p += 4 + n;
  }
  if (payload instanceof Uint8Array) {
    out.set(payload, p);
    p += payload.length;
  } else {
    p = encodeMessageInto(payload, out, p);
  }
  writeU32(out, at, p - at - 4);
  writeU64(out, at + 4, seq);
  return p;
}

/** Buffer.writeUInt32BE without its checks (the callers' sizes are in range), for every entry. */
function writeU32(out: Buffer, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

/** A sequence number (below 2^53) as u64 BE: two u32, high first. */
function writeU64(out: Buffer, at: number, v: number): void {
  writeU32(out, at, Math.floor(v / TWO_32));
  writeU32(out, at + 4, v % TWO_32);
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}

/** A reliable frame encoded on its own (it cannot go into a batch now): rare, so not pooled. */
function standaloneEntry(seq: number, target: ForwardTarget, payload: ForwardPayload): Buffer {
  const out = Buffer.allocUnsafe(entryBound(target, payload));
  return out.subarray(0, writeEntry(out, 0, seq, target, payload));
}

/**
 * The frame in buf[start, end) (format in the file comment); throws on a frame it did not make.
 * The message bytes are a view into `buf`, not a copy: copying them cost ~250 ns a message
 * (an ArrayBuffer each: 18% of the receiving node's time on the cross-node bench), and the
 * receiver copies what it keeps. Each listener gets a NATS message of its own, so two never
 * share bytes.
 */
function readFrame(buf: Buffer, start: number, end: number): { target: ForwardTarget; encoded: Buffer } {
  if (end - start < 1) throw new Error('empty forward frame');
  const flags = buf[start]!;
  if (flags & ~KNOWN_FLAGS) throw new Error(`unknown forward frame flags ${flags}`);
  let at = start + 1;
  // nearly every frame is a plain route: one target object for all of them
  if (flags === 0) return { target: ROUTE_TARGET, encoded: buf.subarray(at, end) };
  const target: ForwardTarget = { kind: flags & FLAG_SHARED ? 'shared' : 'route' };
  if (flags & FLAG_FILTER) {
    target.filter = readString(buf, at, end);
    at += 4 + buf.readUInt32BE(at);
  }
  if (flags & FLAG_GROUP) {
    target.group = readString(buf, at, end);
    at += 4 + buf.readUInt32BE(at);
  }
  return { target, encoded: buf.subarray(at, end) };
}

/** The string behind its u32 length at `at`, within `end`. */
function readString(buf: Buffer, at: number, end: number): string {
  if (at + 4 > end) throw new Error('truncated forward frame');
  const len = buf.readUInt32BE(at);
  if (at + 4 + len > end) throw new Error('truncated forward frame');
  return buf.toString('utf8', at + 4, at + 4 + len);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why a NATS request failed, in a few words for the RpcError message. */
function requestFailureReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'timeout';
  // the client reports NATS's 503 status as a RequestError caused by NoRespondersError
  if ((err as { isNoResponders?: () => boolean }).isNoResponders?.() || err.name === 'NoRespondersError') return 'no responders';
  if (err.name === 'ClosedConnectionError') return 'connection closed';
  return err.message || err.name;
}

/** A reliable frame not yet confirmed. */
interface Pending {
  /** the order of forward() calls, across destinations (what flush() and dropOldest() go by) */
  readonly seq: number;
  /** the sequence number on the wire: 1, 2, 3… per destination */
  readonly dseq: number;
  /** the batch entry (length, dseq, frame): a view into the batch it last went out in */
  entry: Uint8Array;
  /** the connection it was last published on */
  on: string | undefined;
  /** when it last went out (ms) */
  sentAt: number;
  /** given up on (too large, or beyond the memory bound): settled, never sent again */
  dropped: boolean;
}

/** Asks whether anyone listens for the destination (an empty request on its subject): resolves when answered. */
function probe(nc: NatsConnection, dest: { readonly subject: string }): Promise<unknown> {
  try {
    return nc.request(dest.subject, EMPTY, { timeout: PROBE_TIMEOUT_MS });
  } catch (err) {
    return Promise.reject(err);
  }
}

/** The oldest reliable frame of `dest` not given up on. */
function firstHeld(dest: { readonly unconfirmed: Fifo<Pending> }): Pending | undefined {
  for (const p of dest.unconfirmed) if (!p.dropped) return p;
  return undefined;
}

/** A FIFO with O(1) shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  get first(): T | undefined {
    return this.items[this.head];
  }
  push(v: T): void {
    this.items.push(v);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head]!;
    this.items[this.head++] = undefined as T;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }
}

/** A NATS message being written: buf[start, end) is its body, the instance id first, then entries. */
interface Batch {
  /** the connection the entries are meant for: a batch outliving it is not sent */
  readonly on: string;
  readonly buf: Buffer;
  readonly start: number;
  end: number;
  frames: number;
  /** the reliable frames among them */
  readonly reliable: Pending[];
}

/** Where a destination's batches are written: buf[pos...] is free; what is before is never written again. */
interface Slab {
  buf: Buffer;
  pos: number;
}

/** What the sender knows about one destination node. */
interface Dest {
  readonly subject: string;
  /** the last dseq given to a reliable frame for it */
  lastSeq: number;
  /** reliable frames not yet confirmed, in seq order */
  readonly unconfirmed: Fifo<Pending>;
  /** every unconfirmed frame has been handed to this connection; new ones follow directly */
  sentOn?: string;
  /** the connection on which the node was found listening (or given up on) */
  verifiedOn?: string;
  /** the probe in progress: its connection */
  verifying?: { on: string };
  /** a probe for frames left unacknowledged is in progress */
  stalled?: boolean;
  /** since when such probes found the node subscribed but not answering */
  unansweredSince?: number;
  batch?: Batch;
  slab?: Slab;
}

/** A pending flush() call. */
interface FlushWaiter {
  /** the last seq forwarded before the call */
  readonly upTo: number;
  /** no PING sent after the call has been answered yet */
  needRound: boolean;
  resolve(): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
}

/** What the server of one connection has not read yet, as far as we know (see "Backlog" in the file comment). */
interface Backlog {
  readonly on: string;
  /** bytes published on the connection */
  sent: number;
  /** of those, how many a PONG showed read */
  read: number;
  /** `sent` when the last probe (PING) went out */
  probedAt: number;
  /** probes in flight */
  probes: number;
  /** forwards that are not reliable sent, and dropped beyond maxBacklogBytes, in this I/O turn */
  passed: number;
  capped: number;
  /** the share of forwards that are not reliable to send (the others are dropped), steered at the end of each I/O turn */
  pass: number;
  /** `backlogged`: set beyond PAUSE_SHARE, cleared below RESUME_SHARE */
  over: boolean;
}

function newBacklog(on: string): Backlog {
  return { on, sent: 0, read: 0, probedAt: 0, probes: 0, passed: 0, capped: 0, pass: 1, over: false };
}

/** The highest seq delivered per sender instance, least recently used first. */
class SeqLru {
  private readonly m = new Map<string, number>();
  get(k: string): number | undefined {
    return this.m.get(k);
  }
  set(k: string, seq: number): void {
    this.m.delete(k);
    this.m.set(k, seq);
    if (this.m.size > DEDUPE_SENDERS) this.m.delete(this.m.keys().next().value!);
  }
}

export class NatsTransport implements Transport {
  private readonly opts: NatsTransportOptions;
  private readonly log?: Logger;
  private readonly flushTimeoutMs: number;
  private readonly maxUnconfirmedBytes: number;
  private readonly verifyTimeoutMs: number;
  private readonly ackTimeoutMs: number;
  private readonly maxBacklogBytes: number;
  private nc?: NatsConnection;
  private starting?: Promise<void>;
  private isConnected = false;
  private closing = false;
  /** connections made so far (first connect and reconnects) */
  private connections = 0;
  /** put in front of every batch */
  private readonly instanceId = randomBytes(INSTANCE_ID_BYTES);
  /** the last seq given to a reliable frame */
  private seq = 0;
  /** where destinations acknowledge our reliable frames */
  private readonly ackSubj = ackSubject(this.instanceId.toString('hex'));
  /** acknowledgements to send at the end of this I/O turn: reply subject -> node -> seq */
  private readonly acksOut = new Map<string, Map<string, number>>();
  private acksScheduled = false;
  private unconfirmedBytes = 0;
  private unconfirmedFrames = 0;
  private readonly dests = new Map<string, Dest>();
  /** destinations with a batch waiting for the end of the I/O turn */
  private readonly batched = new Set<Dest>();
  private batchScheduled = false;
  /** checks for destinations leaving frames unacknowledged, while any are unconfirmed */
  private ackTimer?: NodeJS.Timeout;
  /** the last PING sent for flush() callers and not yet answered, and the publish it follows */
  private round?: { on: string; serial: number; waiters: Set<FlushWaiter> };
  /** counts nc.publish() calls of batches, to tell whether a round's PING follows them all */
  private pubSerial = 0;
  private readonly waiters = new Set<FlushWaiter>();
  private readonly probeTimers = new Set<NodeJS.Timeout>();
  /** frames dropped by the memory bound: since the last error logged, and in all */
  private readonly dropped = { since: 0, count: 0, total: 0, loggedAt: 0 };
  private dropLogTimer?: NodeJS.Timeout;
  /** what the current connection's server has not read yet, as far as we know */
  private backlog: Backlog = newBacklog('');
  /** forwards dropped for the backlog: since the last warning, and in all */
  private readonly backlogDrops = { count: 0, total: 0 };
  private backlogLogTimer?: NodeJS.Timeout;
  /** onDrained() callbacks waiting */
  private drainWaiters: (() => void)[] = [];
  /** connId() and maxBody() of the nc.info object they were made from (once per connection, not per forward) */
  private connIdOf?: { info: object; id: string; maxBody: number };
  private readonly reconnectCbs: (() => void)[] = [];
  private readonly servers = new Map<string, RequestHandler>();
  private readonly forwardHandlers: [string, ForwardHandler, SeqLru][] = [];

  constructor(opts: NatsTransportOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.flushTimeoutMs = opts.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS;
    this.maxUnconfirmedBytes = opts.maxUnconfirmedBytes ?? DEFAULT_MAX_UNCONFIRMED_BYTES;
    this.verifyTimeoutMs = opts.verifyTimeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    this.maxBacklogBytes = opts.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /**
   * Resolves once connected; while NATS is down it keeps trying (a node may start before
   * NATS). serve() and onForward() may be called before it resolves; their subscriptions
   * are made on connecting. Rejects only if close() is called first.
   */
  start(): Promise<void> {
    this.starting ??= this.connect();
    return this.starting;
  }

  private async connect(): Promise<void> {
    if (this.closing) throw new Error('nats transport closed');
    const nc = await connect({
      servers: this.opts.url,
      name: this.opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_TIME_WAIT_MS,
      reconnectJitter: RECONNECT_JITTER_MS,
      waitOnFirstConnect: true,
      pingInterval: PING_INTERVAL_MS,
      maxPingOut: MAX_PINGS_OUT,
      // Called before every dial: the only way to stop waitOnFirstConnect's endless
      // dialling when close() comes before NATS ever answered (a throw rejects connect()).
      reconnectToServer: () => {
        if (this.closing) throw new Error('nats transport closed');
        return null;
      },
    }).catch((err: unknown) => {
      if (this.closing) throw new Error('nats transport closed before connecting');
      throw new Error(`nats transport: cannot connect to ${this.opts.url}: ${errorMessage(err)}`);
    });
    if (this.closing) {
      // close() ran while the last dial was completing
      await nc.close().catch(() => {});
      throw new Error('nats transport closed');
    }
    this.nc = nc;
    this.isConnected = true;
    this.connections++;
    this.log?.info({ server: nc.getServer() }, 'connected to NATS');
    void this.watchStatus(nc);
    for (const [node, handler] of this.servers) this.subscribeServe(nc, node, handler);
    for (const [node, handler, seen] of this.forwardHandlers) this.subscribeForward(nc, node, handler, seen);
    this.subscribeAcks(nc);
    // reliable frames forwarded before the first connection go out now
    this.resume();
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    try {
      for await (const s of nc.status()) {
        switch (s.type) {
          case 'disconnect':
            this.isConnected = false;
            this.log?.warn({ server: s.server }, 'disconnected from NATS');
            this.drained(); // nothing is sent now: nothing to wait for
            break;
          case 'reconnect':
            this.isConnected = true;
            this.connections++;
            this.log?.info({ server: s.server }, 'reconnected to NATS');
            // the client re-sends our subscriptions itself; we resend unconfirmed frames
            this.resume();
            // callers redo what they own
            for (const cb of [...this.reconnectCbs]) {
              try {
                cb();
              } catch (err) {
                this.log?.error({ err }, 'onReconnect callback threw');
              }
            }
            break;
          case 'close':
            this.isConnected = false;
            this.drained();
            break;
          case 'error':
            this.log?.warn({ err: s.error }, 'NATS error');
            break;
          case 'staleConnection':
            this.log?.warn('NATS connection stale');
            break;
          case 'slowConsumer':
            this.log?.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'NATS slow consumer');
            break;
          default:
            break;
        }
      }
    } catch (err) {
      this.log?.error({ err }, 'NATS status watch ended');
    }
    this.isConnected = false;
  }

  /**
   * Which connection publishing goes to right now, or undefined when not connected: the
   * server's id and the id it gave this client, unique per connection (see the file comment).
   */
  private connId(): string | undefined {
    if (!this.isConnected || this.closing) return undefined;
    const info = this.nc?.info;
    if (!info) return undefined;
    // the client replaces nc.info with each INFO the server sends (a new connection's first)
    let c = this.connIdOf;
    if (c?.info !== info) {
      const maxBody = Math.min(BATCH_BYTES, (info.max_payload ?? Infinity) - BATCH_HEADER);
      this.connIdOf = c = { info, id: `${info.server_id}/${info.client_id}`, maxBody };
    }
    return c.id;
  }

  async serve(node: string, handler: RequestHandler): Promise<void> {
    if (this.closing) throw new Error('nats transport closed');
    if (this.servers.has(node)) throw new Error(`node ${node} is already served by this transport`);
    rpcSubject(node); // validates the name before anything is registered
    this.servers.set(node, handler);
    if (this.nc) {
      this.subscribeServe(this.nc, node, handler);
      // so that a request sent once serve() resolved finds us (the SUB reached the server)
      if (this.isConnected) await this.settleFlush(this.nc).catch(() => {});
    }
  }

  private subscribeServe(nc: NatsConnection, node: string, handler: RequestHandler): void {
    nc.subscribe(rpcSubject(node), {
      callback: (err, msg) => {
        if (err) {
          this.log?.warn({ err, node }, 'rpc subscription error');
          return;
        }
        this.answerMsg(msg, handler, node).catch((err: unknown) => this.log?.error({ err, node }, 'rpc answer failed'));
      },
    });
  }

  private async answerMsg(msg: Msg, handler: RequestHandler, node: string): Promise<void> {
    if (!msg.reply) return; // a publish, not a request: nobody to answer
    const reply = await answer(handler, utf8Dec.decode(msg.data));
    try {
      msg.respond(reply);
    } catch (err) {
      // e.g. closed meanwhile, or the reply exceeds max_payload: the caller times out
      this.log?.warn({ err, node }, 'cannot send rpc reply');
      try {
        msg.respond(JSON.stringify({ ok: false, code: UNKNOWN_ERROR, message: `cannot send reply: ${errorMessage(err)}` }));
      } catch {
        /* nothing more to do */
      }
    }
  }

  request<M extends RpcMethod>(node: string, method: M, params: RpcParams<M>, timeoutMs: number): Promise<RpcReply<M>> {
    const nc = this.nc;
    // Fail fast while disconnected: the client would drop the request on its next dial anyway.
    if (!nc || !this.isConnected) return Promise.reject(rpcFailure(node, this.closing ? 'transport closed' : 'not connected to NATS'));
    let subject: string;
    let body: string;
    try {
      subject = rpcSubject(node);
      body = encodeRequest(method, params);
    } catch (err) {
      return Promise.reject(new RpcError(UNKNOWN_ERROR, `cannot encode rpc request: ${errorMessage(err)}`, node));
    }
    return new Promise<RpcReply<M>>((resolve, reject) => {
      // Our own deadline as well as the client's: whatever the connection does, we settle in time.
      const timer = setTimeout(() => reject(rpcFailure(node, 'timeout')), timeoutMs);
      let pending: Promise<Msg>;
      try {
        pending = nc.request(subject, body, { timeout: Math.max(1, timeoutMs) });
      } catch (err) {
        pending = Promise.reject(err);
      }
      pending.then(
        (msg) => {
          clearTimeout(timer);
          try {
            resolve(decodeResult(node, msg.string()) as RpcReply<M>);
          } catch (err) {
            reject(err);
          }
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(rpcFailure(node, requestFailureReason(err)));
        },
      );
    });
  }

  async onForward(node: string, handler: ForwardHandler): Promise<void> {
    if (this.closing) throw new Error('nats transport closed');
    forwardSubject(node); // validates the name
    const seen = new SeqLru();
    this.forwardHandlers.push([node, handler, seen]);
    if (this.nc) {
      this.subscribeForward(this.nc, node, handler, seen);
      if (this.isConnected) await this.settleFlush(this.nc).catch(() => {});
    }
  }

  /** `seen`: this listener's highest delivered seq per sender instance (it outlives reconnects) */
  private subscribeForward(nc: NatsConnection, node: string, handler: ForwardHandler, seen: SeqLru): void {
    nc.subscribe(forwardSubject(node), {
      callback: (err, msg) => {
        if (err) {
          this.log?.warn({ err, node }, 'forward subscription error');
          return;
        }
        const data = msg.data;
        if (data.length === 0) {
          // a probe: someone listens for the node on this server
          try {
            if (msg.reply) msg.respond(EMPTY);
          } catch {
            /* closing: the prober asks again */
          }
          return;
        }
        if (data.length < BATCH_HEADER) {
          this.log?.warn({ node }, 'dropping malformed forward batch');
          return;
        }
        // one Buffer view per batch: the frames handed on are views into it (see readFrame)
        const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        const sender = `${buf.readUInt32BE(0).toString(16)}:${buf.readUInt32BE(4).toString(16)}`;
        const floor = readU64(buf, INSTANCE_ID_BYTES);
        const last = seen.get(sender);
        // an unknown sender's first frame is taken as it comes
        let highest = last ?? -1;
        let repeats = 0;
        let gaps = 0;
        try {
          for (let p = BATCH_HEADER; p < buf.length; ) {
            let seq: number;
            let frame: ReturnType<typeof readFrame>;
            try {
              if (p + ENTRY_HEADER > buf.length) throw new Error('truncated batch');
              const len = buf.readUInt32BE(p);
              if (len < 8 || p + 4 + len > buf.length) throw new Error('truncated batch');
              seq = readU64(buf, p + 4);
              if (seq !== 0 && seq !== highest + 1 && (highest < 0 ? false : seq <= highest || seq > floor)) {
                // a resend of what was delivered already, or one after frames that never came
                if (seq <= highest) repeats++;
                else gaps++;
                p += 4 + len;
                continue;
              }
              frame = readFrame(buf, p + ENTRY_HEADER, p + 4 + len);
              p += 4 + len;
            } catch (err) {
              this.log?.warn({ err, node }, 'dropping malformed forward batch');
              return;
            }
            if (seq !== 0) highest = seq;
            try {
              handler(frame.target, frame.encoded);
            } catch (err) {
              this.log?.error({ err, node }, 'forward handler threw');
            }
          }
        } finally {
          if (highest >= 0 && highest !== last) seen.set(sender, highest);
          if (repeats) this.log?.debug({ node, sender, repeats }, 'dropped forwards delivered before');
          if (gaps) this.log?.debug({ node, sender, gaps, after: highest }, 'dropped forwards after a gap: waiting for the resend');
        }
        // (only batches with reliable frames ask for an acknowledgement)
        if (msg.reply && highest > 0) this.ack(msg.reply, node, highest);
      },
    });
  }

  /** Acknowledges reliable frames up to `seq` to their sender, at the end of this I/O turn (one message for all batches of the turn). */
  private ack(reply: string, node: string, seq: number): void {
    let byNode = this.acksOut.get(reply);
    if (!byNode) this.acksOut.set(reply, (byNode = new Map()));
    if ((byNode.get(node) ?? 0) < seq) byNode.set(node, seq);
    if (this.acksScheduled) return;
    this.acksScheduled = true;
    setImmediate(() => this.sendAcks());
  }

  private sendAcks(): void {
    this.acksScheduled = false;
    const nc = this.nc;
    for (const [reply, byNode] of this.acksOut) {
      for (const [node, seq] of byNode) {
        const name = Buffer.from(node, 'utf8');
        const body = Buffer.allocUnsafe(8 + name.length);
        writeU64(body, 0, seq);
        name.copy(body, 8);
        try {
          nc?.publish(reply, body);
        } catch {
          /* not connected: the sender finds the frames unacknowledged and sends them again */
        }
      }
    }
    this.acksOut.clear();
  }

  /** Takes the acknowledgements of our reliable frames (see "Reliable forwards"). */
  private subscribeAcks(nc: NatsConnection): void {
    nc.subscribe(this.ackSubj, {
      callback: (err, msg) => {
        if (err) {
          this.log?.warn({ err }, 'forward acknowledgement subscription error');
          return;
        }
        const data = msg.data;
        if (data.length < 8) return;
        const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        const dest = this.dests.get(buf.toString('utf8', 8));
        if (dest) this.acked(dest, readU64(buf, 0));
      },
    });
  }

  /** `dest` acknowledged every frame up to `seq`. */
  private acked(dest: Dest, seq: number): void {
    const q = dest.unconfirmed;
    let n = 0;
    for (let p = q.first; p && (p.dropped || p.dseq <= seq); p = q.first) {
      this.remove(q);
      n++;
    }
    if (n > 0) this.settleWaiters();
  }

  // ---- sending forwards ----

  private dest(node: string): Dest {
    let d = this.dests.get(node);
    if (!d) this.dests.set(node, (d = { subject: forwardSubject(node), lastSeq: 0, unconfirmed: new Fifo() }));
    return d;
  }

  /**
   * Queues a message for `node`, sent with the others for that node at the end of the I/O
   * turn (or once 64 KB are queued). `reliable` (QoS 1/2) frames are kept until confirmed,
   * across reconnects (see the file comment); the others are dropped (false) while not
   * connected, while the destination is being probed, and while the connection is backlogged.
   */
  forward(node: string, target: ForwardTarget, payload: ForwardPayload, reliable = false): boolean {
    if (this.closing) return false;
    const c = this.connId();
    if (!reliable) {
      const dest = this.dests.get(node);
      if (c === undefined || (dest && !this.ready(dest, c, false))) {
        this.log?.debug({ node }, 'not connected to NATS: forward dropped');
        return false;
      }
      if (this.dropForBacklog(c)) return false;
      const d = dest ?? this.dest(node);
      const b = this.room(d, c, entryBound(target, payload));
      b.end = writeEntry(b.buf, b.end, 0, target, payload);
      this.added(d, b);
      return true;
    }
    const dest = this.dest(node);
    const seq = ++this.seq;
    const dseq = ++dest.lastSeq;
    let p: Pending;
    if (c !== undefined && dest.sentOn === c) {
      // straight into the batch; the entry stays a view of it
      const b = this.room(dest, c, entryBound(target, payload));
      const at = b.end;
      b.end = writeEntry(b.buf, at, dseq, target, payload);
      p = { seq, dseq, entry: b.buf.subarray(at, b.end), on: undefined, sentAt: 0, dropped: false };
      b.reliable.push(p);
      this.keep(dest, p);
      this.added(dest, b);
    } else {
      p = { seq, dseq, entry: standaloneEntry(dseq, target, payload), on: undefined, sentAt: 0, dropped: false };
      this.keep(dest, p);
      if (c !== undefined) this.ready(dest, c, true); // resends what it owes, this one included (or probes first)
    }
    if (this.unconfirmedBytes > this.maxUnconfirmedBytes) this.dropOldest();
    return true;
  }

  private keep(dest: Dest, p: Pending): void {
    dest.unconfirmed.push(p);
    this.unconfirmedFrames++;
    this.unconfirmedBytes += p.entry.length;
  }

  /**
   * Whether frames for `dest` may go out on connection `c` now. When its frames went out on
   * another connection, they are queued again first, in order; after a reconnect, not before
   * a probe found the node listening (then this says no and starts one).
   */
  private ready(dest: Dest, c: string, reliable: boolean): boolean {
    if (dest.sentOn === c) return true;
    // a QoS 0 frame with nothing owed before it goes straight out
    if (!reliable && dest.unconfirmed.size === 0) return true;
    if (this.connections > 1 && dest.verifiedOn !== c) {
      this.verify(dest, c);
      return false;
    }
    dest.sentOn = c;
    let n = 0;
    for (const p of dest.unconfirmed) {
      if (p.dropped || p.on === c) continue;
      this.enqueue(dest, c, p);
      n++;
    }
    // (frames queued before they ever went out are not a resend)
    if (n > 0 && this.connections > 1) this.log?.info({ subject: dest.subject, frames: n }, 'resending unconfirmed forwards');
    return true;
  }

  /** Every destination owing frames to the current connection queues them (or starts its probe). */
  private resume(): void {
    const c = this.connId();
    if (c === undefined) return;
    for (const dest of this.dests.values()) if (dest.unconfirmed.size > 0 && dest.sentOn !== c) this.ready(dest, c, true);
    // a flush waiting for the connection needs a PING on it even if nothing was resent
    if (this.waiters.size > 0) this.startRound();
  }

  /** Probes until someone answers for the node on connection `c`, then sends what it owes. */
  private verify(dest: Dest, c: string): void {
    if (dest.verifying?.on === c) return;
    const token = { on: c };
    dest.verifying = token;
    const started = Date.now();
    const current = () => dest.verifying === token && !this.closing && this.connId() === c;
    const done = (answered: boolean) => {
      dest.verifying = undefined;
      if (this.connId() !== c || this.closing) return;
      if (!answered) this.log?.warn({ subject: dest.subject, waitedMs: Date.now() - started }, 'nobody listens for this node on NATS: forwarding to it unverified');
      dest.verifiedOn = c;
      this.ready(dest, c, true);
    };
    const attempt = () => {
      const nc = this.nc;
      if (!current() || !nc) {
        if (dest.verifying === token) dest.verifying = undefined; // the next connection probes again
        return;
      }
      probe(nc, dest).then(
        () => {
          if (current()) done(true);
        },
        () => {
          if (!current()) {
            if (dest.verifying === token) dest.verifying = undefined;
            return;
          }
          if (Date.now() - started >= this.verifyTimeoutMs) return done(false);
          const timer = setTimeout(() => {
            this.probeTimers.delete(timer);
            attempt();
          }, PROBE_RETRY_MS);
          this.probeTimers.add(timer);
        },
      );
    };
    attempt();
  }

  /** Adds an entry made before (a reliable frame owed to connection `c`) to the batch of `dest`. */
  private enqueue(dest: Dest, c: string, p: Pending): void {
    const b = this.room(dest, c, p.entry.length);
    const at = b.end;
    b.buf.set(p.entry, at);
    b.end += p.entry.length;
    // the view into the new batch: the old one's buffer need not be kept for it
    p.entry = b.buf.subarray(at, b.end);
    b.reliable.push(p);
    this.added(dest, b);
  }

  /** The largest NATS message body a batch may make, on the connection connId() last saw. */
  private maxBody(): number {
    return this.connIdOf?.maxBody ?? BATCH_BYTES;
  }

  /**
   * The batch of `dest` for connection `c`, with `need` bytes free for one more entry: a
   * batch that would grow beyond maxBody() is sent first (an entry larger than that gets a
   * batch of its own), and one meant for a connection that is gone is dropped (resent by
   * ready()).
   */
  private room(dest: Dest, c: string, need: number): Batch {
    let b = dest.batch;
    if (b && b.on !== c) {
      this.closeBatch(dest, b);
      b = undefined;
    }
    const maxBody = this.maxBody();
    if (b && (b.end - b.start - BATCH_HEADER + need > maxBody || b.end + need > b.buf.length)) {
      this.sendBatch(dest);
      b = undefined;
    }
    if (b) return b;
    const size = BATCH_HEADER + Math.max(maxBody, need);
    let slab = dest.slab;
    if (!slab || slab.buf.length - slab.pos < size) dest.slab = slab = { buf: Buffer.allocUnsafe(Math.max(SLAB_BYTES, size)), pos: 0 };
    this.instanceId.copy(slab.buf, slab.pos);
    // the floor goes in when the batch is sent
    b = { on: c, buf: slab.buf, start: slab.pos, end: slab.pos + BATCH_HEADER, frames: 0, reliable: [] };
    dest.batch = b;
    this.batched.add(dest);
    return b;
  }

  /** An entry was written into `b`. */
  private added(dest: Dest, b: Batch): void {
    b.frames++;
    if (b.end - b.start - BATCH_HEADER >= this.maxBody()) this.sendBatch(dest);
    this.scheduleTurnEnd();
  }

  private scheduleTurnEnd(): void {
    if (this.batchScheduled) return;
    this.batchScheduled = true;
    setImmediate(() => this.endOfTurn());
  }

  /** `b` is done with (sent or not): its bytes stay as they are, the next batch follows them. */
  private closeBatch(dest: Dest, b: Batch): void {
    if (dest.batch === b) dest.batch = undefined;
    this.batched.delete(dest);
    if (dest.slab?.buf === b.buf) dest.slab.pos = b.end;
  }

  /** The end of an I/O turn: batches go out, followed by a PING when flush() callers wait. */
  private endOfTurn(): void {
    this.batchScheduled = false;
    this.sendBatches();
    this.steerBacklog();
    if (this.waiters.size > 0) this.startRound();
  }

  private sendBatches(): void {
    for (const dest of this.batched) this.sendBatch(dest);
  }

  private sendBatch(dest: Dest): void {
    const b = dest.batch;
    if (!b) return;
    this.closeBatch(dest, b);
    const nc = this.nc;
    if (!nc || this.connId() !== b.on) {
      // reliable frames stay unconfirmed and go out on the next connection
      this.log?.debug({ subject: dest.subject, frames: b.frames }, 'not connected to NATS: forwards not sent');
      if (dest.sentOn === b.on) dest.sentOn = undefined;
      return;
    }
    // The client keeps this view (no copy) until it writes it to the socket: the slab's bytes
    // are never written again, so nothing else is needed.
    const floor = firstHeld(dest)?.dseq ?? dest.lastSeq + 1;
    writeU64(b.buf, b.start + INSTANCE_ID_BYTES, floor);
    const body = b.buf.subarray(b.start, b.end);
    try {
      // only reliable frames are acknowledged (see "Reliable forwards")
      nc.publish(dest.subject, body, b.reliable.length > 0 ? { reply: this.ackSubj } : undefined);
    } catch (err) {
      const max = nc.info?.max_payload;
      if (max !== undefined && body.length > max) {
        // (only a single frame makes a batch this large) it can never go through: lost
        for (const p of b.reliable) p.dropped = true;
        this.log?.error({ err, subject: dest.subject, bytes: body.length, maxPayload: max }, 'forward larger than the NATS max_payload: dropped');
        if (b.reliable.length > 0) this.settleWaiters();
      } else {
        this.log?.error({ err, subject: dest.subject }, 'forward failed');
        if (dest.sentOn === b.on) dest.sentOn = undefined; // resent by the next flush() or forward
      }
      return;
    }
    this.pubSerial++;
    this.published(nc, b.on, body.length);
    if (b.reliable.length === 0) return;
    const now = Date.now();
    for (const p of b.reliable) {
      p.on = b.on;
      p.sentAt = now;
    }
    this.watchAcks();
  }

  // ---- unacknowledged frames ----

  /** Runs checkAcks() every STALL_PROBE_MS / 2 while reliable frames are unconfirmed. */
  private watchAcks(): void {
    if (this.ackTimer || this.closing) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.checkAcks();
      if (this.unconfirmedFrames > 0) this.watchAcks();
    }, STALL_PROBE_MS / 2);
    this.ackTimer.unref();
  }

  /** Probes each destination whose oldest frame on this connection is unacknowledged for longer than STALL_PROBE_MS. */
  private checkAcks(): void {
    const c = this.connId();
    if (c === undefined) return; // resume() resends on the next connection
    const due = Date.now() - STALL_PROBE_MS;
    for (const dest of this.dests.values()) {
      if (dest.stalled || dest.verifying) continue;
      const first = firstHeld(dest);
      if (first && first.on === c && first.sentAt <= due) this.probeStalled(dest, c, first);
    }
  }

  /**
   * `dest` leaves frames unacknowledged (`first` the oldest). Nobody listening for it (a node
   * that died, its subscribers with it), or nobody answering for verifyTimeoutMs (a frozen
   * one): the frames that went out before are given up on. It answers, and `first` is
   * unacknowledged for ackTimeoutMs: every unconfirmed frame goes to it again (frames or
   * acknowledgements were lost). It answers sooner: it is only slow.
   */
  private probeStalled(dest: Dest, c: string, first: Pending): void {
    const nc = this.nc;
    if (!nc) return;
    dest.stalled = true;
    const probedAt = Date.now();
    probe(nc, dest).then(
      () => {
        dest.stalled = false;
        dest.unansweredSince = undefined;
        if (this.connId() !== c || this.closing || firstHeld(dest) !== first || Date.now() - first.sentAt < this.ackTimeoutMs) return;
        this.log?.warn({ subject: dest.subject, frames: dest.unconfirmed.size }, 'forwards left unacknowledged: sending them again');
        for (const p of dest.unconfirmed) p.on = undefined;
        dest.sentOn = undefined;
        this.ready(dest, c, true);
      },
      (err: unknown) => {
        dest.stalled = false;
        if (this.connId() !== c || this.closing) return;
        if (requestFailureReason(err) !== 'no responders') {
          dest.unansweredSince ??= probedAt;
          if (Date.now() - dest.unansweredSince < this.verifyTimeoutMs) return;
        }
        dest.unansweredSince = undefined;
        let n = 0;
        for (const p of dest.unconfirmed) {
          if (p.dropped || p.on !== c || p.sentAt >= probedAt) continue;
          p.dropped = true;
          n++;
        }
        const q = dest.unconfirmed;
        while (q.first?.dropped) this.remove(q);
        if (n === 0) return;
        this.log?.warn({ subject: dest.subject, frames: n }, 'nobody listens for this node on NATS: its unacknowledged forwards are given up');
        this.settleWaiters();
      },
    );
  }

  // ---- backlog ----

  /**
   * Whether the current connection's server is behind: from over half of maxBacklogBytes
   * until a PONG shows less than a quarter (see "Backlog").
   */
  get backlogged(): boolean {
    const bl = this.backlog;
    if (!bl.over && bl.sent - bl.read > this.maxBacklogBytes * PAUSE_SHARE) bl.over = true;
    return bl.over && this.isConnected && bl.on === this.connIdOf?.id;
  }

  onDrained(cb: () => void): void {
    if (this.backlogged) this.drainWaiters.push(cb);
    else setImmediate(cb);
  }

  /** Runs the onDrained() callbacks. */
  private drained(): void {
    if (this.drainWaiters.length === 0) return;
    const cbs = this.drainWaiters;
    this.drainWaiters = [];
    for (const cb of cbs) {
      try {
        cb();
      } catch (err) {
        this.log?.error({ err }, 'onDrained callback threw');
      }
    }
  }

  /**
   * Whether a forward that is not reliable is to be dropped for the backlog of connection `c`
   * (see "Backlog" in the file comment): one not among the share sent, and any beyond
   * maxBacklogBytes.
   */
  private dropForBacklog(c: string): boolean {
    const bl = this.backlog;
    if (bl.on !== c) return false;
    const behind = bl.sent - bl.read;
    if (bl.pass >= 1 || Math.random() < bl.pass) {
      if (behind <= this.maxBacklogBytes) {
        bl.passed++;
        return false;
      }
      bl.capped++;
    }
    this.scheduleTurnEnd(); // which steers the share
    const d = this.backlogDrops;
    d.total++;
    if (d.count++ === 0) {
      this.log?.warn({ backlogBytes: behind, limitBytes: this.maxBacklogBytes }, 'NATS connection backlogged: dropping forwards that are not reliable (QoS 0)');
      // then one summary per DROP_LOG_EVERY_MS while it goes on
      this.backlogLogTimer ??= setTimeout(() => this.logBacklogDrops(), DROP_LOG_EVERY_MS);
      this.backlogLogTimer.unref();
    }
    return true;
  }

  /**
   * At the end of an I/O turn: when forwards were dropped beyond maxBacklogBytes in it, the
   * share sent from now on is cut to what got through, so that next turn the drops are spread
   * over every publisher at random instead of falling on those libuv read last (measured
   * without: 3 to 7 of the bench's 10 subscribers got nothing); when none were, it grows back.
   */
  private steerBacklog(): void {
    const bl = this.backlog;
    if (bl.capped > 0) bl.pass = Math.max(MIN_PASS, (bl.pass * bl.passed) / (bl.passed + bl.capped));
    else if (bl.pass < 1) bl.pass = Math.min(1, bl.pass * PASS_INCREASE + MIN_PASS);
    bl.passed = bl.capped = 0;
  }

  private logBacklogDrops(): void {
    this.backlogLogTimer = undefined;
    const d = this.backlogDrops;
    if (d.count <= 1) {
      d.count = 0;
      return;
    }
    this.log?.warn({ dropped: d.count - 1, droppedTotal: d.total, overMs: DROP_LOG_EVERY_MS }, 'NATS connection backlogged: forwards that are not reliable (QoS 0) dropped');
    d.count = 1; // the next drop does not warn again at once; this timer does
    this.backlogLogTimer = setTimeout(() => this.logBacklogDrops(), DROP_LOG_EVERY_MS);
    this.backlogLogTimer.unref();
  }

  /** `n` bytes were published on connection `c`. */
  private published(nc: NatsConnection, c: string, n: number): void {
    let bl = this.backlog;
    if (bl.on !== c) {
      this.backlog = bl = newBacklog(c);
      this.drained(); // the old connection's backlog is gone with it
    }
    bl.sent += n;
    this.probeBacklog(nc, bl);
  }

  /**
   * Every maxBacklogBytes / BACKLOG_PROBES published, a PING goes out; its PONG shows the
   * server read everything published before it. Also called when a PONG comes back: what
   * was published while MAX_BACKLOG_PROBES were out gets its PING then (else a backlog
   * with only dropped forwards after it would never be seen to clear).
   */
  private probeBacklog(nc: NatsConnection, bl: Backlog): void {
    if (bl.sent - bl.probedAt < this.maxBacklogBytes / BACKLOG_PROBES || bl.probes >= MAX_BACKLOG_PROBES) return;
    const upTo = (bl.probedAt = bl.sent);
    bl.probes++;
    let pong: Promise<void>;
    try {
      pong = nc.flush();
    } catch (err) {
      pong = Promise.reject(err);
    }
    pong.then(
      () => {
        bl.probes--;
        if (upTo > bl.read) bl.read = upTo;
        if (bl.sent - bl.read < this.maxBacklogBytes * RESUME_SHARE) {
          bl.over = false;
          this.drained();
        }
        if (this.nc === nc && this.connId() === bl.on) this.probeBacklog(nc, bl);
      },
      () => {
        bl.probes--; // the connection went away; its successor starts a new count
      },
    );
  }

  /** Sends a PING covering everything published so far; its PONG confirms and settles flushes. */
  private startRound(): void {
    const nc = this.nc;
    const c = this.connId();
    if (!nc || c === undefined) return;
    this.sendBatches();
    const serial = this.pubSerial;
    const waiting = [...this.waiters].filter((w) => w.needRound);
    if (waiting.length === 0) return;
    const r = this.round;
    if (r && r.on === c && r.serial === serial) {
      // the PING in flight already follows everything these waiters wait for
      for (const w of waiting) r.waiters.add(w);
      return;
    }
    const round = { on: c, serial, waiters: new Set(waiting) };
    this.round = round;
    let pong: Promise<void>;
    try {
      pong = nc.flush();
    } catch (err) {
      pong = Promise.reject(err);
    }
    pong.then(
      () => {
        if (this.round === round) this.round = undefined;
        for (const w of round.waiters) w.needRound = false;
        this.settleWaiters();
      },
      () => {
        // the connection went away: its successor resends, and a new round follows
        if (this.round === round) this.round = undefined;
      },
    );
  }

  private remove(q: Fifo<Pending>): void {
    const p = q.shift()!;
    this.unconfirmedFrames--;
    this.unconfirmedBytes -= p.entry.length;
  }

  /** Beyond maxUnconfirmedBytes: the oldest frames (lowest seq, any destination) are given up on. */
  private dropOldest(): void {
    let n = 0;
    while (this.unconfirmedBytes > this.maxUnconfirmedBytes) {
      let oldest: Dest | undefined;
      for (const d of this.dests.values()) {
        const f = d.unconfirmed.first;
        if (f && (!oldest || f.seq < oldest.unconfirmed.first!.seq)) oldest = d;
      }
      if (!oldest) break;
      this.remove(oldest.unconfirmed);
      n++;
    }
    const d = this.dropped;
    if (d.count === 0) d.since = Date.now();
    d.count += n;
    d.total += n;
    // one error now, then at most one per DROP_LOG_EVERY_MS with what was dropped meanwhile
    const wait = d.loggedAt + DROP_LOG_EVERY_MS - Date.now();
    if (wait <= 0) this.logDropped();
    else if (!this.dropLogTimer) {
      this.dropLogTimer = setTimeout(() => {
        this.dropLogTimer = undefined;
        this.logDropped();
      }, wait);
      this.dropLogTimer.unref();
    }
    this.settleWaiters();
  }

  private logDropped(): void {
    const d = this.dropped;
    if (d.count === 0) return;
    const now = Date.now();
    this.log?.error(
      { dropped: d.count, droppedTotal: d.total, overMs: now - d.since, unconfirmedFrames: this.unconfirmedFrames, unconfirmedBytes: this.unconfirmedBytes, limitBytes: this.maxUnconfirmedBytes, connected: this.isConnected },
      'too many unconfirmed forwards: the oldest were dropped, those messages may be lost',
    );
    d.loggedAt = now;
    d.count = 0;
  }

  /** Resolves the flushes that got their PONG and whose frames are all confirmed. */
  private settleWaiters(): void {
    if (this.waiters.size === 0) return;
    let oldest = Infinity;
    for (const d of this.dests.values()) {
      for (const p of d.unconfirmed) {
        if (p.dropped) continue;
        if (p.seq < oldest) oldest = p.seq;
        break;
      }
    }
    for (const w of this.waiters) {
      if (w.needRound || w.upTo >= oldest) continue;
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  /**
   * Resolves once every reliable frame forwarded before the call is confirmed by the NATS
   * server, and a PING sent after the call was answered; that may need a reconnect and a
   * resend first. Rejects after flushTimeoutMs when that does not happen in time; the frames
   * are kept, and a later flush() resolves once they went through.
   */
  flush(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('nats transport closed'));
    return new Promise<void>((resolve, reject) => {
      const w: FlushWaiter = { upTo: this.seq, needRound: true, resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(this.flushFailure()));
      }, this.flushTimeoutMs);
      this.waiters.add(w);
      this.resume(); // whatever the current connection still lacks goes out, then the PING
      this.startRound();
    });
  }

  private flushFailure(): string {
    const pending = `${this.unconfirmedFrames} reliable forwards unconfirmed`;
    if (this.connId() === undefined) return `not connected to NATS: flush timed out after ${this.flushTimeoutMs} ms (${pending})`;
    const probing = [...this.dests.values()].filter((d) => d.verifying).map((d) => d.subject);
    if (probing.length > 0) return `NATS flush timed out after ${this.flushTimeoutMs} ms: waiting for listeners on ${probing.join(', ')} (${pending})`;
    return `NATS flush timed out after ${this.flushTimeoutMs} ms (${pending})`;
  }

  /** nc.flush() bounded by flushTimeoutMs; a rejection of the loser is absorbed. */
  private settleFlush(nc: NatsConnection): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`NATS flush timed out after ${this.flushTimeoutMs} ms`)), this.flushTimeoutMs);
      nc.flush().then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(new Error(`NATS flush failed: ${errorMessage(err)}`));
        },
      );
    });
  }

  onReconnect(cb: () => void): void {
    this.reconnectCbs.push(cb);
  }

  /** Drains (bounded by a timeout), then closes. Safe to call more than once, and before start() resolved. */
  async close(): Promise<void> {
    if (this.closing) return;
    // what this turn queued still goes out with the drain
    this.sendBatches();
    this.closing = true;
    clearTimeout(this.ackTimer);
    clearTimeout(this.dropLogTimer);
    clearTimeout(this.backlogLogTimer);
    this.logDropped();
    for (const t of this.probeTimers) clearTimeout(t);
    this.probeTimers.clear();
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error('nats transport closed'));
    }
    this.waiters.clear();
    this.drained();
    if (this.unconfirmedFrames > 0) this.log?.warn({ frames: this.unconfirmedFrames }, 'closing with unconfirmed forwards: they may be lost');
    const nc = this.nc;
    if (!nc) {
      // a pending start() rejects at its next dial attempt
      await this.starting?.catch(() => {});
      return;
    }
    if (this.isConnected) {
      let timer: NodeJS.Timeout | undefined;
      const drained = nc.drain().then(
        () => true,
        () => false,
      );
      const ok = await Promise.race([drained, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), DRAIN_TIMEOUT_MS)))]);
      clearTimeout(timer);
      if (ok) {
        this.isConnected = false;
        return;
      }
    }
    await nc.close().catch(() => {});
    this.isConnected = false;
  }
}
