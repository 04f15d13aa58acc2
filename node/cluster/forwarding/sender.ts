/**
 * Batching and resend (docs/forwarding.md, "Sending" and "Reliable forwards"): entries are
 * written into one batch per destination, in slabs, sent at the end of the I/O turn or once
 * a batch is full; what a destination owes a new connection is queued again, in order,
 * before any new frame for it.
 */
import { randomBytes } from 'node:crypto';
import type { NatsLink } from '../../../shared/cluster/nats/connection.js';
import { ackSubject } from './subjects.js';
import type { Backlog } from './backlog.js';
import { firstUnsettled, type Batch, type Dest, type Pending } from './dest.js';
import type { Flushes } from './flush.js';
import type { Probes } from './probes.js';
import { BATCH_HEADER, INSTANCE_ID_BYTES, writeU64 } from './wire.js';

/** a batch is sent once it holds this much, rather than at the end of the I/O turn */
const BATCH_BYTES = 64 * 1024;
/**
 * Batches are written into slabs of this size, one after the other, each slab one allocation:
 * an allocation per message (the frame, then the batch) cost a third of the sending node's
 * time at cross-node rates (measured: `new Uint8Array` 358 ns of encoding's 693 ns).
 */
const SLAB_BYTES = 256 * 1024;

export class Sender {
  /** put in front of every batch */
  readonly instanceId = randomBytes(INSTANCE_ID_BYTES);
  /** where destinations acknowledge our reliable frames */
  readonly ackSubj = ackSubject(this.instanceId.toString('hex'));
  /** destinations with a batch waiting for the end of the I/O turn */
  private readonly batched = new Set<Dest>();
  private batchScheduled = false;
  /** counts nc.publish() calls of batches, to tell whether a flush round's PING follows them all */
  private pubSerial = 0;

  constructor(
    private readonly link: NatsLink,
    private readonly dests: ReadonlyMap<string, Dest>,
    private readonly flushes: Flushes,
    private readonly backlog: Backlog,
    private readonly probes: Probes,
  ) {}

  /**
   * Whether frames for `dest` may go out on connection `c` now. When its frames went out on
   * another connection, they are queued again first, in order; after a reconnect, not before
   * a probe found the node listening (then this says no and starts one).
   */
  ready(dest: Dest, c: string, reliable: boolean): boolean {
    if (dest.sentOn === c) return true;
    // frames parked for their taker go first, when they go again (sent after them, they would be taken for repeats)
    if (dest.parked > 0) return false;
    // a QoS 0 frame with nothing owed before it goes straight out
    if (!reliable && dest.unconfirmed.size === 0) return true;
    if (this.link.connections > 1 && dest.verifiedOn !== c) {
      this.probes.verify(dest, c);
      return false;
    }
    dest.sentOn = c;
    let n = 0;
    for (const p of dest.unconfirmed) {
      if (p.dropped || p.parked || p.on === c) continue;
      this.enqueue(dest, c, p);
      n++;
    }
    // (frames queued before they ever went out are not a resend)
    if (n > 0 && this.link.connections > 1) this.link.log?.info({ subject: dest.subject, frames: n }, 'resending unconfirmed forwards');
    return true;
  }

  /** Every destination owing frames to the current connection queues them (or starts its probe). */
  resume(): void {
    const c = this.link.connId();
    if (c === undefined) return;
    for (const dest of this.dests.values()) if (dest.unconfirmed.size > 0 && dest.sentOn !== c) this.ready(dest, c, true);
    // a flush waiting for the connection needs a PING on it even if nothing was resent
    if (this.flushes.waiting) this.startRound();
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
    return Math.min(BATCH_BYTES, this.link.maxPayload - BATCH_HEADER);
  }

  /**
   * The batch of `dest` for connection `c`, with `need` bytes free for one more entry: a
   * batch that would grow beyond maxBody() is sent first (an entry larger than that gets a
   * batch of its own), and one meant for a connection that is gone is dropped (resent by
   * ready()).
   */
  room(dest: Dest, c: string, need: number): Batch {
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
  added(dest: Dest, b: Batch): void {
    b.frames++;
    if (b.end - b.start - BATCH_HEADER >= this.maxBody()) this.sendBatch(dest);
    this.scheduleTurnEnd();
  }

  scheduleTurnEnd(): void {
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
    this.backlog.steer();
    if (this.flushes.waiting) this.startRound();
  }

  sendBatches(): void {
    for (const dest of this.batched) this.sendBatch(dest);
  }

  private sendBatch(dest: Dest): void {
    const b = dest.batch;
    if (!b) return;
    this.closeBatch(dest, b);
    const nc = this.link.nc;
    if (!nc || this.link.connId() !== b.on) {
      // reliable frames stay unconfirmed and go out on the next connection
      this.link.log?.debug({ subject: dest.subject, frames: b.frames }, 'not connected to NATS: forwards not sent');
      if (dest.sentOn === b.on) dest.sentOn = undefined;
      return;
    }
    // The client keeps this view (no copy) until it writes it to the socket: the slab's bytes
    // are never written again, so nothing else is needed.
    // parked frames count: a receiver that takes a frame after them would take them for repeats when they go again
    const floor = firstUnsettled(dest)?.dseq ?? dest.lastSeq + 1;
    writeU64(b.buf, b.start + INSTANCE_ID_BYTES, floor);
    const body = b.buf.subarray(b.start, b.end);
    try {
      // only reliable frames are acknowledged (docs/forwarding.md, "Reliable forwards")
      nc.publish(dest.subject, body, b.reliable.length > 0 ? { reply: this.ackSubj } : undefined);
    } catch (err) {
      const max = nc.info?.max_payload;
      if (max !== undefined && body.length > max) {
        // (only a single frame makes a batch this large) it can never go through: lost
        for (const p of b.reliable) p.dropped = true;
        this.link.log?.error({ err, subject: dest.subject, bytes: body.length, maxPayload: max }, 'forward larger than the NATS max_payload: dropped');
        if (b.reliable.length > 0) this.flushes.settle();
      } else {
        this.link.log?.error({ err, subject: dest.subject }, 'forward failed');
        if (dest.sentOn === b.on) dest.sentOn = undefined; // resent by the next flush() or forward
      }
      return;
    }
    this.pubSerial++;
    this.backlog.published(nc, b.on, body.length);
    if (b.reliable.length === 0) return;
    const now = Date.now();
    for (const p of b.reliable) {
      p.on = b.on;
      p.sentAt = now;
      p.run = dest.run;
    }
    this.probes.watchAcks();
  }

  /** Sends what this turn queued, then a PING covering it for the flush() callers (flush.ts). */
  startRound(): void {
    const nc = this.link.nc;
    const c = this.link.connId();
    if (!nc || c === undefined) return;
    this.sendBatches();
    this.flushes.startRound(nc, c, this.pubSerial);
  }
}
