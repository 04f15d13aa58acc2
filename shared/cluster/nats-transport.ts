/**
 * The transport of clustered mode: one NATS connection per process.
 *
 * RPC: a request is published on rpcSubject(node) with the JSON body `{method, params}`; the
 * node answers with the JSON of an RpcResult (see rpc-wire.ts).
 *
 * Forwarding: a message is published on forwardSubject(node) as one binary frame (no NATS
 * headers: a topic filter may hold characters a header value cannot):
 *
 *   byte 0      flags: bit 0 kind (0 'route', 1 'shared'), bit 1 filter present,
 *               bit 2 group present; other bits 0 (a frame with any set is dropped)
 *   [u32 BE length + UTF-8 filter]   when bit 1
 *   [u32 BE length + UTF-8 group]    when bit 2
 *   rest        the encoded message, as given to forward()
 *
 * NATS going away: the client reconnects forever; meanwhile request() fails at once with
 * 101, forward() drops (fire and forget; the client would drop its buffer on the next dial
 * anyway), and flush() rejects (see flush()). Nothing the connection does throws out of this
 * class or leaves a promise rejected unhandled.
 */
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
  /** how long flush() waits for the server before rejecting (default 2000 ms) */
  flushTimeoutMs?: number;
}

type ForwardHandler = (target: ForwardTarget, encoded: Uint8Array) => void;

const DEFAULT_FLUSH_TIMEOUT_MS = 2_000;
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

const utf8Enc = new TextEncoder();
const utf8Dec = new TextDecoder();

/** A forward as one NATS message body (format in the file comment). */
export function encodeForwardFrame(target: ForwardTarget, encoded: Uint8Array): Uint8Array {
  const filter = target.filter !== undefined ? utf8Enc.encode(target.filter) : undefined;
  const group = target.group !== undefined ? utf8Enc.encode(target.group) : undefined;
  let flags = target.kind === 'shared' ? FLAG_SHARED : 0;
  let size = 1 + encoded.length;
  if (filter) {
    flags |= FLAG_FILTER;
    size += 4 + filter.length;
  }
  if (group) {
    flags |= FLAG_GROUP;
    size += 4 + group.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = flags;
  let at = 1;
  for (const part of [filter, group]) {
    if (!part) continue;
    view.setUint32(at, part.length);
    out.set(part, at + 4);
    at += 4 + part.length;
  }
  out.set(encoded, at);
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

export class NatsTransport implements Transport {
  private readonly opts: NatsTransportOptions;
  private readonly log?: Logger;
  private readonly flushTimeoutMs: number;
  private nc?: NatsConnection;
  private starting?: Promise<void>;
  private isConnected = false;
  private closing = false;
  /**
   * Counts connection state changes: odd while disconnected (1 before the first connect),
   * even while connected. flush() uses it to tell whether everything forwarded since the
   * last good flush went over the connection that answered it.
   */
  private epoch = 1;
  private forwardSeq = 0;
  /** forwards up to this one are known to have reached the server (or have been reported lost) */
  private settledSeq = 0;
  /** [first forward seq, epoch] each time the epoch changed and a forward followed */
  private epochMarks: [number, number][] = [];
  private pendingFlushes = 0;
  /** frames waiting for the end of the I/O turn, by node */
  private readonly batches = new Map<string, { frames: Uint8Array[]; bytes: number }>();
  private batchScheduled = false;
  private readonly reconnectCbs: (() => void)[] = [];
  private readonly servers = new Map<string, RequestHandler>();
  private readonly forwardHandlers: [string, ForwardHandler][] = [];

  constructor(opts: NatsTransportOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.flushTimeoutMs = opts.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS;
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
    this.epoch++;
    this.log?.info({ server: nc.getServer() }, 'connected to NATS');
    void this.watchStatus(nc);
    for (const [node, handler] of this.servers) this.subscribeServe(nc, node, handler);
    for (const [node, handler] of this.forwardHandlers) this.subscribeForward(nc, node, handler);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    try {
      for await (const s of nc.status()) {
        switch (s.type) {
          case 'disconnect':
            if (this.isConnected) this.epoch++;
            this.isConnected = false;
            this.log?.warn({ server: s.server }, 'disconnected from NATS');
            break;
          case 'reconnect':
            if (!this.isConnected) this.epoch++;
            this.isConnected = true;
            this.log?.info({ server: s.server }, 'reconnected to NATS');
            // the client re-sends our subscriptions itself; callers redo what they own
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
    this.forwardHandlers.push([node, handler]);
    if (this.nc) {
      this.subscribeForward(this.nc, node, handler);
      if (this.isConnected) await this.settleFlush(this.nc).catch(() => {});
    }
  }

  private subscribeForward(nc: NatsConnection, node: string, handler: ForwardHandler): void {
    nc.subscribe(forwardSubject(node), {
      callback: (err, msg) => {
        if (err) {
          this.log?.warn({ err, node }, 'forward subscription error');
          return;
        }
        // a NATS message is a batch of frames, each behind its u32 length (see forward())
        const data = msg.data;
        const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
        for (let p = 0; p < data.length; ) {
          let frame: ReturnType<typeof decodeForwardFrame>;
          try {
            if (p + 4 > data.length) throw new Error('truncated batch');
            const len = view.getUint32(p);
            if (p + 4 + len > data.length) throw new Error('truncated batch');
            frame = decodeForwardFrame(data.subarray(p + 4, p + 4 + len));
            p += 4 + len;
          } catch (err) {
            this.log?.warn({ err, node }, 'dropping malformed forward batch');
            return;
          }
          try {
            handler(frame.target, frame.encoded);
          } catch (err) {
            this.log?.error({ err, node }, 'forward handler threw');
          }
        }
      },
    });
  }

  /**
   * Queues a frame for `node`. Frames for one node are sent together, one NATS message per
   * node per I/O turn (or per 64 KB), each frame behind its u32 length: at cross-node
   * rates a NATS message per MQTT message costs more than the routing itself (measured).
   */
  forward(node: string, target: ForwardTarget, encoded: Uint8Array): void {
    const seq = ++this.forwardSeq;
    const last = this.epochMarks[this.epochMarks.length - 1];
    if (!last || last[1] !== this.epoch) this.epochMarks.push([seq, this.epoch]);
    if (!this.nc || !this.isConnected) {
      this.log?.debug({ node }, 'not connected to NATS: forward dropped');
      return;
    }
    const frame = encodeForwardFrame(target, encoded);
    let batch = this.batches.get(node);
    if (!batch) this.batches.set(node, (batch = { frames: [], bytes: 0 }));
    batch.frames.push(frame);
    batch.bytes += 4 + frame.length;
    if (batch.bytes >= BATCH_BYTES) this.sendBatch(node, batch);
    else if (!this.batchScheduled) {
      this.batchScheduled = true;
      setImmediate(() => this.sendBatches());
    }
  }

  /** Sends every queued batch now. */
  private sendBatches(): void {
    this.batchScheduled = false;
    for (const [node, batch] of this.batches) this.sendBatch(node, batch);
  }

  private sendBatch(node: string, batch: { frames: Uint8Array[]; bytes: number }): void {
    this.batches.delete(node);
    const nc = this.nc;
    if (!nc || !this.isConnected) {
      this.log?.debug({ node, frames: batch.frames.length }, 'not connected to NATS: forwards dropped');
      return;
    }
    const body = new Uint8Array(batch.bytes);
    const view = new DataView(body.buffer);
    let p = 0;
    for (const f of batch.frames) {
      view.setUint32(p, f.length);
      body.set(f, p + 4);
      p += 4 + f.length;
    }
    try {
      nc.publish(forwardSubject(node), body);
    } catch (err) {
      // fire and forget; e.g. larger than the server's max_payload. flush() can't see it: log.
      this.log?.error({ err, node }, 'forward failed');
    }
  }

  /**
   * Resolves when every forward made before the call has reached the NATS server. Rejects
   * (never hangs) when that can't be vouched for: not connected, no answer within
   * flushTimeoutMs, or the connection was lost after an earlier forward that no flush had
   * confirmed yet (that forward may be lost; only the first flush to see it reports it).
   */
  flush(): Promise<void> {
    this.sendBatches(); // what is queued for this turn goes out before the flush's PING
    const nc = this.nc;
    if (!nc || !this.isConnected) return Promise.reject(new Error('not connected to NATS'));
    const from = this.settledSeq + 1;
    const upTo = this.forwardSeq;
    this.pendingFlushes++;
    return this.settleFlush(nc)
      .then(() => {
        if (upTo >= from && this.epochOf(from) !== this.epoch) {
          // forwards from `from` until the current connection began went over a lost one
          this.settledSeq = Math.max(this.settledSeq, this.firstSeqOfEpoch(this.epoch) - 1);
          throw new Error('NATS connection was interrupted: forwarded messages may be lost');
        }
        this.settledSeq = Math.max(this.settledSeq, upTo);
      })
      .finally(() => {
        // marks a pending flush may still look up must stay
        if (--this.pendingFlushes === 0) this.pruneEpochMarks();
      });
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

  private epochOf(seq: number): number {
    let epoch = this.epoch;
    for (const [first, e] of this.epochMarks) {
      if (first > seq) break;
      epoch = e;
    }
    return epoch;
  }

  /** the first forward seq made in `epoch` (or the next one to be made) */
  private firstSeqOfEpoch(epoch: number): number {
    for (const [first, e] of this.epochMarks) if (e >= epoch) return first;
    return this.forwardSeq + 1;
  }

  private pruneEpochMarks(): void {
    // keep the mark that covers settledSeq + 1 and everything after it
    while (this.epochMarks.length > 1 && this.epochMarks[1]![0] <= this.settledSeq + 1) this.epochMarks.shift();
  }

  onReconnect(cb: () => void): void {
    this.reconnectCbs.push(cb);
  }

  /** Drains (bounded by a timeout), then closes. Safe to call more than once, and before start() resolved. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
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
