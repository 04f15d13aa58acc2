/**
 * flush(): the callers waiting until every reliable frame forwarded before their call is
 * acknowledged and a PING sent after it was answered (docs/forwarding.md, "Flush").
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { ping, type NatsLink } from '../../../shared/cluster/nats/connection.js';
import { firstUnsettled, type Dest } from './dest.js';
import type { ReliableFrames } from './reliable.js';

/** A pending flush() call. */
interface FlushWaiter {
  /**
   * the destination it waits for, or undefined: every destination. A publisher waits only
   * for the nodes its message went to, so frames held for a node that died hold back no
   * publisher whose messages go elsewhere.
   */
  readonly dest: Dest | undefined;
  /** the last seq forwarded before the call (`dest`'s own dseq when it has one) */
  readonly upTo: number;
  /** no PING sent after the call has been answered yet */
  needRound: boolean;
  resolve(): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
}

export class Flushes {
  private readonly waiters = new Set<FlushWaiter>();
  /** the last PING sent for flush() callers and not yet answered, and the publish it follows */
  private round?: { on: string; serial: number; waiters: Set<FlushWaiter> };

  constructor(
    private readonly link: NatsLink,
    private readonly frames: ReliableFrames,
  ) {}

  /** flush() callers wait */
  get waiting(): boolean {
    return this.waiters.size > 0;
  }

  /**
   * A flush() call: resolves once every reliable frame forwarded before it (to `dest`, or to
   * any destination) is confirmed, and
   * a PING sent after it was answered (startRound()). Rejects after flushTimeoutMs when that
   * does not happen in time; the frames are kept, and a later flush() resolves once they
   * went through.
   */
  wait(dest?: Dest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const upTo = dest === undefined ? this.frames.seq : dest.lastSeq;
      const w: FlushWaiter = { dest, upTo, needRound: true, resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(this.failure()));
      }, this.link.flushTimeoutMs);
      this.waiters.add(w);
    });
  }

  /**
   * Sends a PING on `nc` (connection `c`) covering everything published so far (`serial`
   * publishes: the caller sent its batches first); its PONG settles the waiters.
   */
  startRound(nc: NatsConnection, c: string, serial: number): void {
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
    ping(nc).then(
      () => {
        if (this.round === round) this.round = undefined;
        for (const w of round.waiters) w.needRound = false;
        this.settle();
      },
      () => {
        // the connection went away: its successor resends, and a new round follows
        if (this.round === round) this.round = undefined;
      },
    );
  }

  /** Resolves the flushes that got their PONG and whose frames are all confirmed. */
  settle(): void {
    if (this.waiters.size === 0) return;
    let oldest: number | undefined; // of any destination: looked up once, when a waiter needs it
    for (const w of this.waiters) {
      if (w.needRound) continue;
      if (w.dest !== undefined) {
        const f = firstUnsettled(w.dest);
        if (f !== undefined && f.dseq <= w.upTo) continue;
      } else if (w.upTo >= (oldest ??= this.frames.oldestHeld())) continue;
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  private failure(): string {
    const ms = this.link.flushTimeoutMs;
    const pending = `${this.frames.frames} reliable forwards unconfirmed`;
    if (this.link.connId() === undefined) return `not connected to NATS: flush timed out after ${ms} ms (${pending})`;
    const probing = [...this.frames.dests.values()].filter((d) => d.verifying).map((d) => d.subject);
    if (probing.length > 0) return `NATS flush timed out after ${ms} ms: waiting for listeners on ${probing.join(', ')} (${pending})`;
    return `NATS flush timed out after ${ms} ms (${pending})`;
  }

  /** On close: every waiter is rejected. */
  close(): void {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error('nats transport closed'));
    }
    this.waiters.clear();
  }
}
