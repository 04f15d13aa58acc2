/**
 * The reliable frames a sender holds until their destination acknowledges them: their
 * sequence numbers, every destination's unconfirmed list, and the memory bound
 * (docs/forwarding.md, "Reliable forwards"). Bookkeeping only: what settles flushes and
 * what sends is done by the callers.
 */
import type { NatsLink } from '../../../shared/cluster/nats/connection.js';
import { newDest, type Dest, type Pending } from './dest.js';
import type { Fifo } from './fifo.js';

/** at most one "unconfirmed frames dropped" error per this long */
const DROP_LOG_EVERY_MS = 5_000;

export class ReliableFrames {
  /** every destination forwarded to, by node name */
  readonly dests = new Map<string, Dest>();
  /** the last seq given to a reliable frame (the order of forward() calls, across destinations) */
  seq = 0;
  /** frames sent to a destination's former run are sent to its new one (see heard()) */
  resendToNewRun = false;
  /** unconfirmed frames, and the bytes of their entries */
  frames = 0;
  bytes = 0;
  /** frames dropped by the memory bound: since the last error logged, and in all */
  private readonly dropped = { since: 0, count: 0, total: 0, loggedAt: 0 };
  private dropLogTimer?: NodeJS.Timeout;

  constructor(
    private readonly link: NatsLink,
    /** unconfirmed bytes kept at most; the oldest beyond are dropped */
    readonly maxBytes: number,
  ) {}

  dest(node: string): Dest {
    let d = this.dests.get(node);
    if (!d) this.dests.set(node, (d = newDest(node)));
    return d;
  }

  keep(dest: Dest, p: Pending): void {
    dest.unconfirmed.push(p);
    this.frames++;
    this.bytes += p.entry.length;
  }

  /** Drops the first frame of `q` (confirmed or given up on). */
  remove(q: Fifo<Pending>): void {
    const p = q.shift()!;
    p.dropped = true;
    this.frames--;
    this.bytes -= p.entry.length;
  }

  /**
   * `dest` acknowledged every frame up to `seq`; whether that confirmed any. Parked frames
   * were not sent to this listener (a node of the same name started again answers with its
   * own count): they stay until their taker settles them, and so does what follows them.
   */
  acked(dest: Dest, seq: number): boolean {
    const q = dest.unconfirmed;
    let n = 0;
    for (let p = q.first; p && (p.dropped || (p.dseq <= seq && !p.parked)); p = q.first) {
      this.remove(q);
      n++;
    }
    if (q.first?.parked) {
      for (const p of q) {
        if (p.dseq > seq) break;
        if (p.parked || p.dropped) continue;
        p.dropped = true;
        n++;
      }
    }
    return n > 0;
  }

  /** `p` of `dest` is settled (stored elsewhere by the taker of unreachable frames): off the list once at its head. */
  settle(dest: Dest, p: Pending): void {
    p.dropped = true;
    p.parked = false;
    const q = dest.unconfirmed;
    while (q.first?.dropped) this.remove(q);
  }

  /**
   * `dest` answered as run `run` (hex). When that is a new run (the node restarted under its
   * name), the frames that went out to the one before are given up on, as frames to a node
   * that died are: that run may have delivered them and its dedupe went with it, so sent to
   * the new run they could come twice (what it had stored, a durable session's copies,
   * comes back from the store). Frames that never went out are sent to the new run. Returns
   * how many were given up on. With durable sessions (`resendToNewRun`) they are sent to
   * the new run instead: a frame the former run never got is not lost, and the new run takes
   * back its stored sessions before it listens, dropping a second copy of what they restored
   * and of the QoS 2 messages their records name as completed lately.
   */
  heard(dest: Dest, run: string): number {
    const was = dest.run;
    dest.run = run;
    if (was === undefined || was === run || this.resendToNewRun) return 0;
    let n = 0;
    for (const p of dest.unconfirmed) {
      // (a frame sent before any answer went to the run that answered first)
      if (p.dropped || p.sentAt === 0 || p.run === run) continue;
      p.dropped = true;
      n++;
    }
    const q = dest.unconfirmed;
    while (q.first?.dropped) this.remove(q);
    if (n > 0) this.link.log?.warn({ subject: dest.subject, frames: n }, 'the node restarted: forwards sent to its previous run are given up');
    return n;
  }

  /** beyond the memory bound: dropOldest() is due */
  get over(): boolean {
    return this.bytes > this.maxBytes;
  }

  /** Beyond maxBytes: the oldest frames (lowest seq, any destination) are given up on. */
  dropOldest(): void {
    let n = 0;
    while (this.bytes > this.maxBytes) {
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
  }

  private logDropped(): void {
    const d = this.dropped;
    if (d.count === 0) return;
    const now = Date.now();
    this.link.log?.error(
      { dropped: d.count, droppedTotal: d.total, overMs: now - d.since, unconfirmedFrames: this.frames, unconfirmedBytes: this.bytes, limitBytes: this.maxBytes, connected: this.link.connected },
      'too many unconfirmed forwards: the oldest were dropped, those messages may be lost',
    );
    d.loggedAt = now;
    d.count = 0;
  }

  /** The seq of the oldest frame held (not given up on), of any destination; Infinity when none. */
  oldestHeld(): number {
    let oldest = Infinity;
    for (const d of this.dests.values()) {
      for (const p of d.unconfirmed) {
        if (p.dropped) continue;
        if (p.seq < oldest) oldest = p.seq;
        break;
      }
    }
    return oldest;
  }

  /** On close: what was dropped is logged now. */
  close(): void {
    clearTimeout(this.dropLogTimer);
    this.logDropped();
  }
}
