/**
 * What the sender keeps per destination node: its reliable frames until confirmed, the
 * batch being written and the slab it is written in, and the state of its resend and probes
 * (docs/forwarding.md, "Reliable forwards").
 */
import { forwardSubject } from './subjects.js';
import { Fifo } from './fifo.js';

/** A reliable frame not yet confirmed. */
export interface Pending {
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
  /** the destination's run (its receiver's id) known when it last went out */
  run: string | undefined;
  /** settled: confirmed, or given up on (too large, beyond the memory bound): never sent again */
  dropped: boolean;
  /**
   * its node was found unreachable: not sent, its flushes waiting, while the taker of
   * Forwarder.onUnreachable() decides (stored elsewhere, or sent again: nats-forwarder.ts)
   */
  parked: boolean;
}

/** A NATS message being written: buf[start, end) is its body, the instance id first, then entries. */
export interface Batch {
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
export interface Slab {
  buf: Buffer;
  pos: number;
}

/** What the sender knows about one destination node. */
export interface Dest {
  readonly node: string;
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
  /**
   * frames parked (with their taker): nothing is sent to the node meanwhile, so that a frame
   * sent to it again never follows one sent after it (the receiver would drop it as a repeat)
   */
  parked: number;
  /** the run of its receiver last heard from (an acknowledgement, a probe answer), hex */
  run?: string;
  batch?: Batch;
  slab?: Slab;
}

export function newDest(node: string): Dest {
  return { node, subject: forwardSubject(node), lastSeq: 0, unconfirmed: new Fifo(), parked: 0 };
}

/** The oldest reliable frame of `dest` still to be sent to it (not given up on, not parked). */
export function firstHeld(dest: { readonly unconfirmed: Fifo<Pending> }): Pending | undefined {
  for (const p of dest.unconfirmed) if (!p.dropped && !p.parked) return p;
  return undefined;
}

/** The oldest reliable frame of `dest` not settled (parked ones included): what its flushes wait for. */
export function firstUnsettled(dest: { readonly unconfirmed: Fifo<Pending> }): Pending | undefined {
  for (const p of dest.unconfirmed) if (!p.dropped) return p;
  return undefined;
}
