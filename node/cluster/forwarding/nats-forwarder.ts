/**
 * Forwarding over NATS (docs/forwarding.md): forward() picks a frame's way (a QoS 0 frame
 * straight into its destination's batch, or dropped; a reliable one kept until confirmed),
 * and the subsystems do the rest: sender.ts (batches, resend), reliable.ts (what is held),
 * receiver.ts, probes.ts, backlog.ts, flush.ts. It shares the process's NATS connection
 * (shared/cluster/nats/connection.ts) with RPC.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsLink } from '../../../shared/cluster/nats/connection.js';
import { Backlog } from './backlog.js';
import type { Dest, Pending } from './dest.js';
import { Flushes } from './flush.js';
import { Probes } from './probes.js';
import { Receiver } from './receiver.js';
import { ReliableFrames } from './reliable.js';
import { Sender } from './sender.js';
import type { ForwardHandler, ForwardPayload, ForwardTarget, Forwarder, UnreachableForward, UnreachableTaker } from './transport.js';
import { ENTRY_HEADER, entryBound, readFrame, readU64, RUN_ID_BYTES, standaloneEntry, writeEntry } from './wire.js';

export interface NatsForwarderOptions {
  /** reliable frames kept for a resend, at most (default 64 MB); the oldest beyond are dropped */
  maxUnconfirmedBytes?: number;
  /** after a reconnect, how long a destination may stay unanswering before its frames are sent anyway (default 2000 ms) */
  verifyTimeoutMs?: number;
  /** how long a destination that answers probes may leave a reliable frame unacknowledged before its unconfirmed frames are sent again (default 1000 ms; docs/forwarding.md, "Reliable forwards") */
  ackTimeoutMs?: number;
  /** bytes published and not yet read by the server beyond which forwards that are not reliable are dropped (default 16 MB; docs/forwarding.md, "Backlog") */
  maxBacklogBytes?: number;
}

const DEFAULT_MAX_UNCONFIRMED_BYTES = 64 * 1024 * 1024;
const DEFAULT_VERIFY_TIMEOUT_MS = 2_000;
const DEFAULT_ACK_TIMEOUT_MS = 1_000;
const DEFAULT_MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

/** a frame the taker sent back to its node is sent again after this pause (probes find out whether it listens) */
const RETRY_UNREACHABLE_MS = 100;

/** A parked frame as handed to the taker: its target and message read from its entry. */
class ParkedFrame implements UnreachableForward {
  readonly node: string;
  readonly target: ForwardTarget;
  readonly encoded: Uint8Array;
  readonly id: string;

  constructor(
    readonly dest: Dest,
    readonly p: Pending,
    sender: string,
  ) {
    const e = p.entry;
    const frame = readFrame(Buffer.from(e.buffer, e.byteOffset, e.byteLength), ENTRY_HEADER, e.length);
    this.node = dest.node;
    this.target = frame.target;
    // a copy: the entry is a view into a slab, which the taker may outlive
    this.encoded = Buffer.from(frame.encoded);
    this.id = `${sender}.${p.seq}`;
  }
}

export class NatsForwarder implements Forwarder {
  protected readonly link: NatsLink;
  private readonly frames: ReliableFrames;
  private readonly flushes: Flushes;
  private readonly backlog: Backlog;
  private readonly receiver: Receiver;
  private readonly probes: Probes;
  private readonly sender: Sender;
  private taker: UnreachableTaker | undefined;
  private readonly retryTimers = new Set<NodeJS.Timeout>();

  constructor(link: NatsLink, opts: NatsForwarderOptions = {}) {
    this.link = link;
    this.frames = new ReliableFrames(link, opts.maxUnconfirmedBytes ?? DEFAULT_MAX_UNCONFIRMED_BYTES);
    this.flushes = new Flushes(link, this.frames);
    this.backlog = new Backlog(link, opts.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES);
    this.receiver = new Receiver(link);
    this.probes = new Probes(link, this.frames, this.flushes, {
      verifyTimeoutMs: opts.verifyTimeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS,
      ackTimeoutMs: opts.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS,
      resend: (dest, c) => this.sender.ready(dest, c, true),
      parker: () => (this.taker === undefined ? undefined : (dest, frames) => this.parked(dest, frames)),
    });
    this.sender = new Sender(link, this.frames.dests, this.flushes, this.backlog, this.probes);
    link.use({
      connected: (nc) => {
        this.receiver.subscribeAll(nc);
        this.subscribeAcks(nc);
        // reliable frames forwarded before the first connection go out now
        this.sender.resume();
      },
      // the client re-sends our subscriptions itself; we resend unconfirmed frames
      reconnected: () => this.sender.resume(),
      // nothing is sent now: nothing to wait for
      disconnected: () => this.backlog.drained(),
      // what this turn queued still goes out with the drain
      closing: () => this.sender.sendBatches(),
      closed: () => this.closed(),
    });
  }

  onForward(node: string, handler: ForwardHandler): Promise<void> {
    return this.receiver.listen(node, handler);
  }

  /**
   * Queues a message for `node`, sent with the others for that node at the end of the I/O
   * turn (or once 64 KB are queued). `reliable` (QoS 1/2) frames are kept until confirmed,
   * across reconnects; the others are dropped (false) while not connected, while the
   * destination is being probed, and while the connection is backlogged.
   */
  forward(node: string, target: ForwardTarget, payload: ForwardPayload, reliable = false): boolean {
    if (this.link.closing) return false;
    const c = this.link.connId();
    const sender = this.sender;
    const frames = this.frames;
    if (!reliable) {
      const dest = frames.dests.get(node);
      if (c === undefined || (dest && !sender.ready(dest, c, false))) {
        this.link.log?.debug({ node }, 'not connected to NATS: forward dropped');
        return false;
      }
      if (this.backlog.drop(c)) {
        sender.scheduleTurnEnd(); // which steers the share
        return false;
      }
      const d = dest ?? frames.dest(node);
      const b = sender.room(d, c, entryBound(target, payload));
      b.end = writeEntry(b.buf, b.end, 0, target, payload);
      sender.added(d, b);
      return true;
    }
    const dest = frames.dest(node);
    const seq = ++frames.seq;
    const dseq = ++dest.lastSeq;
    let p: Pending;
    if (c !== undefined && dest.sentOn === c) {
      // straight into the batch; the entry stays a view of it
      const b = sender.room(dest, c, entryBound(target, payload));
      const at = b.end;
      b.end = writeEntry(b.buf, at, dseq, target, payload);
      p = { seq, dseq, entry: b.buf.subarray(at, b.end), on: undefined, sentAt: 0, run: undefined, dropped: false, parked: false };
      b.reliable.push(p);
      frames.keep(dest, p);
      sender.added(dest, b);
    } else {
      p = { seq, dseq, entry: standaloneEntry(dseq, target, payload), on: undefined, sentAt: 0, run: undefined, dropped: false, parked: false };
      frames.keep(dest, p);
      if (c !== undefined) sender.ready(dest, c, true); // resends what it owes, this one included (or probes first)
    }
    if (frames.over) {
      frames.dropOldest();
      this.flushes.settle();
    }
    return true;
  }

  /**
   * Resolves once every reliable frame forwarded before the call is acknowledged, and a PING
   * sent after the call was answered; that may need a reconnect and a resend first. Rejects
   * after flushTimeoutMs when that does not happen in time; the frames are kept, and a later
   * flush() resolves once they went through.
   */
  flush(node?: string): Promise<void> {
    if (this.link.closing) return Promise.reject(new Error('nats transport closed'));
    const done = this.flushes.wait(node === undefined ? undefined : this.frames.dest(node));
    this.sender.resume(); // whatever the current connection still lacks goes out, then the PING
    this.sender.startRound();
    return done;
  }

  onUnreachable(taker: UnreachableTaker): void {
    this.taker = taker;
    this.frames.resendToNewRun = true;
  }

  /** Frames of a node NATS found nobody listening for: to the taker, which settles each (settleUnreachable). */
  private parked(dest: Dest, frames: Pending[]): void {
    const sender = this.sender.ackSubj;
    const handed = frames.map((p) => new ParkedFrame(dest, p, sender));
    for (const h of handed) {
      void this.taker!(h).then(
        (outcome) => this.settleUnreachable(h, outcome),
        (err: unknown) => {
          this.link.log?.warn({ err, node: h.node }, 'a forward to an unreachable node not taken: sent to it again');
          this.settleUnreachable(h, 'again');
        },
      );
    }
  }

  /** 'stored': the taker has it where it belongs (its flushes may resolve); 'again': sent to its node again. */
  private settleUnreachable(h: ParkedFrame, outcome: 'stored' | 'again'): void {
    const { dest, p } = h;
    if (!p.parked) return;
    p.parked = false;
    dest.parked--;
    if (p.dropped) return this.sendHeldBack(dest, 0); // dropped by the memory bound meanwhile
    if (outcome === 'stored') {
      this.frames.settle(dest, p);
      this.flushes.settle();
      return this.sendHeldBack(dest, 0);
    }
    p.on = undefined;
    this.sendHeldBack(dest, RETRY_UNREACHABLE_MS);
  }

  /** Once no frame of `dest` is parked, what waits behind them goes (after `ms`). */
  private sendHeldBack(dest: Dest, ms: number): void {
    if (dest.parked > 0 || this.link.closing) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      const c = this.link.connId();
      if (c === undefined || dest.parked > 0) return; // the next connection resends them
      dest.sentOn = undefined;
      this.sender.ready(dest, c, true);
    }, ms);
    this.retryTimers.add(timer);
  }

  get backlogged(): boolean {
    return this.backlog.backlogged;
  }

  onDrained(cb: () => void): void {
    this.backlog.onDrained(cb);
  }

  /** Takes the acknowledgements of our reliable frames: u64 BE seq, the acknowledging run's id, then its node's name. */
  private subscribeAcks(nc: NatsConnection): void {
    nc.subscribe(this.sender.ackSubj, {
      callback: (err, msg) => {
        if (err) {
          this.link.log?.warn({ err }, 'forward acknowledgement subscription error');
          return;
        }
        const data = msg.data;
        if (data.length < 8 + RUN_ID_BYTES) return;
        const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        const dest = this.frames.dests.get(buf.toString('utf8', 8 + RUN_ID_BYTES));
        if (!dest) return;
        const confirmed = this.frames.acked(dest, readU64(buf, 0));
        // (what this run confirmed first: only what went to the run before is given up on)
        const givenUp = this.frames.heard(dest, buf.toString('hex', 8, 8 + RUN_ID_BYTES)) > 0;
        if (confirmed || givenUp) this.flushes.settle();
      },
    });
  }

  /** close() was called: timers stop, flushes are rejected, what is unconfirmed may be lost. */
  private closed(): void {
    for (const t of this.retryTimers) clearTimeout(t);
    this.probes.close();
    this.frames.close();
    this.backlog.close();
    this.flushes.close();
    this.backlog.drained();
    if (this.frames.frames > 0) this.link.log?.warn({ frames: this.frames.frames }, 'closing with unconfirmed forwards: they may be lost');
  }
}
