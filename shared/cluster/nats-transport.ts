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
 *   then, for each forwarded message:
 *     u32 BE    n, the length of what follows in this entry
 *     u64 BE    seq (two u32 BE, high first): 0 for a QoS 0 message, else its sequence number
 *     n - 8     the frame:
 *       byte 0      flags: bit 0 kind (0 'route', 1 'shared'), bit 1 filter present,
 *                   bit 2 group present; other bits 0 (a frame with any set is dropped)
 *       [u32 BE length + UTF-8 filter]   when bit 1
 *       [u32 BE length + UTF-8 group]    when bit 2
 *       rest        the encoded message, as given to forward()
 *
 * A request with an empty body on forwardSubject(node) is a probe: whoever listens for the
 * node answers it with an empty reply (see "Reliable forwards").
 *
 * Reliable forwards. NATS core delivers at most once, and the broker acknowledges a QoS 1/2
 * PUBLISH once flush() resolved. So forward(…, reliable = true) (QoS 1/2 messages) must not
 * be lost once flush() said so, NATS outages included:
 *
 * - Every reliable frame gets a sequence number (one counter per transport, so increasing per
 *   destination, with gaps) and stays in its destination's "unconfirmed" list until a
 *   confirmation covers it: an nc.flush() (PING/PONG) that was sent after the frame on the
 *   same connection and answered. Connections are told apart by the server's id and the
 *   client id it assigned (nc.info), both read when a frame is published and when the flush
 *   is sent; the client empties its outbound buffer and fails pending PONGs before each dial,
 *   so a PONG on the same connection proves the server got the frame. QoS 0 frames are never
 *   kept (seq 0).
 * - While not connected, reliable frames are kept and not published; QoS 0 frames are dropped.
 * - On a new connection (and whenever the connection is found to differ from the one a
 *   destination's frames went out on), every unconfirmed frame of a destination is published
 *   again, in order, before any new frame for it. After a reconnect (not on the first
 *   connection) this waits until a probe shows the destination listens on NATS again: a
 *   restarted server may get our resend before the destination has subscribed again, and
 *   would confirm what nobody received. Probes are retried every PROBE_RETRY_MS; after
 *   verifyTimeoutMs without an answer (a dead node) the frames are published anyway. QoS 0
 *   frames for a destination being probed are dropped (they would overtake the resend).
 * - Without flush() calls, a confirmation is made confirmIntervalMs after reliable frames
 *   went out, so the list stays short.
 * - The receiver keeps, per listener and per sender instance id, the highest seq it delivered,
 *   and drops frames with a seq at or below it: NATS keeps the order of one publisher's
 *   connection on one subject, so a resend after a reconnect is the only source of repeats
 *   (and a frame is never delivered after a higher one from the same sender). The map is an
 *   LRU of DEDUPE_SENDERS sender instances: a resend from a sender evicted meanwhile may be
 *   delivered twice.
 * - flush() resolves once every reliable frame forwarded before the call is confirmed, and a
 *   PING sent after the call was answered (so QoS 0 frames went out too). That may take a
 *   reconnect, a probe and a resend. It rejects after flushTimeoutMs when that can't happen in
 *   time, keeping the frames: a later flush() can still succeed.
 * - Unconfirmed frames are bounded by maxUnconfirmedBytes (default 64 MB) per transport; beyond
 *   that the oldest are dropped and an error logged with counts. Those messages may be lost
 *   although a later flush() resolves. So is a frame larger than the server's max_payload.
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
import { answer, decodeResult, encodeRequest, rpcFailure, UNKNOWN_ERROR } from './rpc-wire.js';
import { forwardSubject, rpcSubject } from './subjects.js';
import type { ForwardTarget, RequestHandler, Transport } from './transport.js';

/** a batch is sent once it holds this much, rather than at the end of the I/O turn */
const BATCH_BYTES = 64 * 1024;

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
  /** when nobody calls flush(), how soon reliable frames that went out are confirmed (default 100 ms) */
  confirmIntervalMs?: number;
}

type ForwardHandler = (target: ForwardTarget, encoded: Uint8Array) => void;

const DEFAULT_FLUSH_TIMEOUT_MS = 2_000;
const DEFAULT_MAX_UNCONFIRMED_BYTES = 64 * 1024 * 1024;
const DEFAULT_VERIFY_TIMEOUT_MS = 2_000;
const DEFAULT_CONFIRM_INTERVAL_MS = 100;
/** a probe unanswered this long is sent again (a busy receiver answers late, not never) */
const PROBE_TIMEOUT_MS = 500;
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

const INSTANCE_ID_BYTES = 8;
/** u32 length + u64 seq in front of each frame of a batch */
const ENTRY_HEADER = 12;
const TWO_32 = 2 ** 32;
const EMPTY = new Uint8Array(0);

const utf8Enc = new TextEncoder();
const utf8Dec = new TextDecoder();

/** Writes a frame (format in the file comment) of `size` bytes at `at`. */
function writeFrame(out: Uint8Array, at: number, target: ForwardTarget, filter: Uint8Array | undefined, group: Uint8Array | undefined, encoded: Uint8Array): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let flags = target.kind === 'shared' ? FLAG_SHARED : 0;
  if (filter) flags |= FLAG_FILTER;
  if (group) flags |= FLAG_GROUP;
  out[at++] = flags;
  for (const part of [filter, group]) {
    if (!part) continue;
    view.setUint32(at, part.length);
    out.set(part, at + 4);
    at += 4 + part.length;
  }
  out.set(encoded, at);
}

function frameParts(target: ForwardTarget, encoded: Uint8Array): { filter?: Uint8Array; group?: Uint8Array; size: number } {
  const filter = target.filter !== undefined ? utf8Enc.encode(target.filter) : undefined;
  const group = target.group !== undefined ? utf8Enc.encode(target.group) : undefined;
  const size = 1 + (filter ? 4 + filter.length : 0) + (group ? 4 + group.length : 0) + encoded.length;
  return { filter, group, size };
}

/** A forward as one frame (format in the file comment). */
export function encodeForwardFrame(target: ForwardTarget, encoded: Uint8Array): Uint8Array {
  const { filter, group, size } = frameParts(target, encoded);
  const out = new Uint8Array(size);
  writeFrame(out, 0, target, filter, group, encoded);
  return out;
}

/** A frame behind its length and seq, as it goes into a batch. */
function encodeEntry(seq: number, target: ForwardTarget, encoded: Uint8Array): Uint8Array {
  const { filter, group, size } = frameParts(target, encoded);
  const out = new Uint8Array(ENTRY_HEADER + size);
  const view = new DataView(out.buffer);
  view.setUint32(0, 8 + size);
  view.setUint32(4, Math.floor(seq / TWO_32));
  view.setUint32(8, seq % TWO_32);
  writeFrame(out, ENTRY_HEADER, target, filter, group, encoded);
  return out;
}

/** The inverse of encodeForwardFrame (the message bytes copied); throws on a frame it did not make. */
export function decodeForwardFrame(frame: Uint8Array): { target: ForwardTarget; encoded: Uint8Array } {
  if (frame.length < 1) throw new Error('empty forward frame');
  const flags = frame[0]!;
  if (flags & ~KNOWN_FLAGS) throw new Error(`unknown forward frame flags ${flags}`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let at = 1;
  const readString = (): string => {
    if (at + 4 > frame.length) throw new Error('truncated forward frame');
    const len = view.getUint32(at);
    if (at + 4 + len > frame.length) throw new Error('truncated forward frame');
    const s = utf8Dec.decode(frame.subarray(at + 4, at + 4 + len));
    at += 4 + len;
    return s;
  };
  const target: ForwardTarget = { kind: flags & FLAG_SHARED ? 'shared' : 'route' };
  if (flags & FLAG_FILTER) target.filter = readString();
  if (flags & FLAG_GROUP) target.group = readString();
  // A copy: the frame is a view into the client's read buffer, and a receiver that queues
  // the message must neither pin that whole chunk nor share bytes with another listener.
  return { target, encoded: frame.slice(at) };
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
  readonly seq: number;
  /** the batch entry (length, seq, frame) */
  readonly entry: Uint8Array;
  /** the connection it was last published on */
  on: string | undefined;
  /** pubSerial of that publish */
  pub: number;
  /** given up on (too large, or beyond the memory bound): settled, never sent again */
  dropped: boolean;
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

interface Batch {
  /** the connection the entries are meant for: a batch outliving it is not sent */
  readonly on: string;
  readonly entries: Uint8Array[];
  /** the reliable frames among them */
  readonly reliable: Pending[];
  bytes: number;
}

/** What the sender knows about one destination node. */
interface Dest {
  readonly subject: string;
  /** reliable frames not yet confirmed, in seq order */
  readonly unconfirmed: Fifo<Pending>;
  /** every unconfirmed frame has been handed to this connection; new ones follow directly */
  sentOn?: string;
  /** the connection on which the node was found listening (or given up on) */
  verifiedOn?: string;
  /** the probe in progress: its connection */
  verifying?: { on: string };
  batch?: Batch;
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

/** The highest seq delivered per sender instance, least recently used first. */
class SeqLru {
  private readonly m = new Map<string, number>();
  get(k: string): number {
    return this.m.get(k) ?? 0;
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
  private readonly confirmIntervalMs: number;
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
  /** counts nc.publish() calls of batches, to tell what a flush covers */
  private pubSerial = 0;
  private unconfirmedBytes = 0;
  private unconfirmedFrames = 0;
  private readonly dests = new Map<string, Dest>();
  /** destinations with a batch waiting for the end of the I/O turn */
  private readonly batched = new Set<Dest>();
  private batchScheduled = false;
  /** reliable frames were published since the last confirmation round started */
  private unconfirmedSent = false;
  private confirmTimer?: NodeJS.Timeout;
  /** the last confirmation round sent and not yet answered */
  private round?: { on: string; serial: number; waiters: Set<FlushWaiter> };
  private readonly waiters = new Set<FlushWaiter>();
  private readonly probeTimers = new Set<NodeJS.Timeout>();
  /** frames dropped by the memory bound: since the last error logged, and in all */
  private readonly dropped = { since: 0, count: 0, total: 0, loggedAt: 0 };
  private dropLogTimer?: NodeJS.Timeout;
  private readonly reconnectCbs: (() => void)[] = [];
  private readonly servers = new Map<string, RequestHandler>();
  private readonly forwardHandlers: [string, ForwardHandler, SeqLru][] = [];

  constructor(opts: NatsTransportOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.flushTimeoutMs = opts.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS;
    this.maxUnconfirmedBytes = opts.maxUnconfirmedBytes ?? DEFAULT_MAX_UNCONFIRMED_BYTES;
    this.verifyTimeoutMs = opts.verifyTimeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
    this.confirmIntervalMs = opts.confirmIntervalMs ?? DEFAULT_CONFIRM_INTERVAL_MS;
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
    return info ? `${info.server_id}/${info.client_id}` : undefined;
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
        if (msg.reply) {
          // a probe: someone listens for the node on this server
          if (data.length === 0) {
            try {
              msg.respond(EMPTY);
            } catch {
              /* closing: the prober asks again */
            }
          }
          return;
        }
        if (data.length < INSTANCE_ID_BYTES) {
          this.log?.warn({ node }, 'dropping malformed forward batch');
          return;
        }
        const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
        const sender = `${view.getUint32(0).toString(16)}:${view.getUint32(4).toString(16)}`;
        const last = seen.get(sender);
        let highest = last;
        let repeats = 0;
        try {
          for (let p = INSTANCE_ID_BYTES; p < data.length; ) {
            let seq: number;
            let frame: ReturnType<typeof decodeForwardFrame>;
            try {
              if (p + ENTRY_HEADER > data.length) throw new Error('truncated batch');
              const len = view.getUint32(p);
              if (len < 8 || p + 4 + len > data.length) throw new Error('truncated batch');
              seq = view.getUint32(p + 4) * TWO_32 + view.getUint32(p + 8);
              if (seq !== 0 && seq <= highest) {
                repeats++; // a resend of what was delivered already
                p += 4 + len;
                continue;
              }
              frame = decodeForwardFrame(data.subarray(p + ENTRY_HEADER, p + 4 + len));
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
          if (highest !== last) seen.set(sender, highest);
          if (repeats) this.log?.debug({ node, sender, repeats }, 'dropped forwards delivered before');
        }
      },
    });
  }

  // ---- sending forwards ----

  private dest(node: string): Dest {
    let d = this.dests.get(node);
    if (!d) this.dests.set(node, (d = { subject: forwardSubject(node), unconfirmed: new Fifo() }));
    return d;
  }

  /**
   * Queues a message for `node`, sent with the others for that node at the end of the I/O
   * turn (or once 64 KB are queued). `reliable` (QoS 1/2) frames are kept until confirmed,
   * across reconnects (see the file comment); the others are dropped while not connected.
   */
  forward(node: string, target: ForwardTarget, encoded: Uint8Array, reliable = false): void {
    if (this.closing) return;
    const c = this.connId();
    if (!reliable) {
      const dest = this.dests.get(node);
      if (c === undefined || (dest && !this.ready(dest, c, false))) {
        this.log?.debug({ node }, 'not connected to NATS: forward dropped');
        return;
      }
      this.enqueue(dest ?? this.dest(node), c, encodeEntry(0, target, encoded));
      return;
    }
    const dest = this.dest(node);
    const p: Pending = { seq: ++this.seq, entry: encodeEntry(this.seq, target, encoded), on: undefined, pub: 0, dropped: false };
    const direct = c !== undefined && dest.sentOn === c;
    dest.unconfirmed.push(p);
    this.unconfirmedFrames++;
    this.unconfirmedBytes += p.entry.length;
    if (direct) this.enqueue(dest, c, p.entry, p);
    else if (c !== undefined) this.ready(dest, c, true); // resends what it owes, this one included (or probes first)
    if (this.unconfirmedBytes > this.maxUnconfirmedBytes) this.dropOldest();
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
      this.enqueue(dest, c, p.entry, p);
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
      let reply: Promise<unknown>;
      try {
        reply = nc.request(dest.subject, EMPTY, { timeout: PROBE_TIMEOUT_MS });
      } catch (err) {
        reply = Promise.reject(err);
      }
      reply.then(
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

  /** Adds a batch entry for connection `c`; `p` when it is a reliable frame. */
  private enqueue(dest: Dest, c: string, entry: Uint8Array, p?: Pending): void {
    let b = dest.batch;
    if (b && b.on !== c) b = undefined; // meant for a connection that is gone: resent by ready()
    const maxBody = Math.min(BATCH_BYTES, (this.nc?.info?.max_payload ?? Infinity) - INSTANCE_ID_BYTES);
    if (b && b.bytes + entry.length > maxBody) {
      this.sendBatch(dest);
      b = undefined;
    }
    if (!b) {
      dest.batch = b = { on: c, entries: [], reliable: [], bytes: 0 };
      this.batched.add(dest);
    }
    b.entries.push(entry);
    if (p) b.reliable.push(p);
    b.bytes += entry.length;
    if (b.bytes >= maxBody) this.sendBatch(dest);
    if (!this.batchScheduled) {
      this.batchScheduled = true;
      setImmediate(() => this.endOfTurn());
    }
  }

  /** The end of an I/O turn: batches go out, and reliable ones get confirmed (now when someone waits). */
  private endOfTurn(): void {
    this.batchScheduled = false;
    this.sendBatches();
    if (!this.unconfirmedSent) return;
    if (this.waiters.size > 0) this.startRound();
    else this.confirmTimer ??= setTimeout(() => {
      this.confirmTimer = undefined;
      this.startRound();
    }, this.confirmIntervalMs);
  }

  private sendBatches(): void {
    for (const dest of this.batched) this.sendBatch(dest);
  }

  private sendBatch(dest: Dest): void {
    const b = dest.batch;
    dest.batch = undefined;
    this.batched.delete(dest);
    if (!b) return;
    const nc = this.nc;
    if (!nc || this.connId() !== b.on) {
      // reliable frames stay unconfirmed and go out on the next connection
      this.log?.debug({ subject: dest.subject, frames: b.entries.length }, 'not connected to NATS: forwards not sent');
      if (dest.sentOn === b.on) dest.sentOn = undefined;
      return;
    }
    const body = new Uint8Array(INSTANCE_ID_BYTES + b.bytes);
    body.set(this.instanceId, 0);
    let at = INSTANCE_ID_BYTES;
    for (const e of b.entries) {
      body.set(e, at);
      at += e.length;
    }
    try {
      nc.publish(dest.subject, body);
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
    const serial = ++this.pubSerial;
    if (b.reliable.length === 0) return;
    for (const p of b.reliable) {
      p.on = b.on;
      p.pub = serial;
    }
    this.unconfirmedSent = true;
  }

  /** Sends a PING covering everything published so far; its PONG confirms and settles flushes. */
  private startRound(): void {
    const nc = this.nc;
    const c = this.connId();
    if (!nc || c === undefined) return;
    this.sendBatches();
    const serial = this.pubSerial;
    const waiting = [...this.waiters].filter((w) => w.needRound);
    this.unconfirmedSent = false;
    clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
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
        this.confirm(round.on, round.serial);
        for (const w of round.waiters) w.needRound = false;
        this.settleWaiters();
      },
      () => {
        // the connection went away: its successor resends, and a new round follows
        if (this.round === round) this.round = undefined;
      },
    );
  }

  /** Frames published on connection `c` up to publish `serial` reached the server. */
  private confirm(c: string, serial: number): void {
    for (const dest of this.dests.values()) {
      const q = dest.unconfirmed;
      for (let p = q.first; p && (p.dropped || (p.on === c && p.pub <= serial)); p = q.first) this.remove(q);
    }
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
    clearTimeout(this.confirmTimer);
    clearTimeout(this.dropLogTimer);
    this.logDropped();
    for (const t of this.probeTimers) clearTimeout(t);
    this.probeTimers.clear();
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error('nats transport closed'));
    }
    this.waiters.clear();
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
