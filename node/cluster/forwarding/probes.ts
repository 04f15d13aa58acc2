/**
 * Probes (docs/forwarding.md, "Probes"): an empty request on a destination's forward subject
 * asks whether anyone listens for it. After a reconnect a destination is probed before its
 * unconfirmed frames are sent again; a destination leaving frames unacknowledged is probed
 * to tell a dead node (its frames given up on) from a slow one and from lost acknowledgements.
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { requestFailureReason, type NatsLink } from '../../../shared/cluster/nats/connection.js';
import { firstHeld, type Dest, type Pending } from './dest.js';
import type { Flushes } from './flush.js';
import type { ReliableFrames } from './reliable.js';
import { EMPTY, RUN_ID_BYTES } from './wire.js';

/** a probe unanswered this long is sent again (a busy receiver answers late, not never) */
const PROBE_TIMEOUT_MS = 500;
/**
 * A destination that leaves a reliable frame unacknowledged this long is probed: a node that
 * died is found by NATS's "no responders" at once, and its frames given up on, so that the
 * publishers' acknowledgements wait no longer than this for it.
 */
const STALL_PROBE_MS = 100;
/** pause between probes that found nobody listening */
const PROBE_RETRY_MS = 50;

/** Asks whether anyone listens for the destination (an empty request on its subject): resolves with the answer. */
function probe(nc: NatsConnection, dest: { readonly subject: string }): Promise<Msg> {
  try {
    return nc.request(dest.subject, EMPTY, { timeout: PROBE_TIMEOUT_MS });
  } catch (err) {
    return Promise.reject(err);
  }
}

export interface ProbeOptions {
  /** after a reconnect, how long a destination may stay unanswering before its frames are sent anyway */
  verifyTimeoutMs: number;
  /** how long a destination may leave a reliable frame unacknowledged before it is sent again */
  ackTimeoutMs: number;
  /** sends what `dest` owes connection `c` (the sender's ready()) */
  resend(dest: Dest, c: string): void;
  /**
   * what takes the frames of a destination NATS finds nobody listening for (or nobody
   * answering), parked rather than given up on; undefined: they are given up on
   */
  parker(): ((dest: Dest, frames: Pending[]) => void) | undefined;
}

export class Probes {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** checks for destinations leaving frames unacknowledged, while any are unconfirmed */
  private ackTimer?: NodeJS.Timeout;

  constructor(
    private readonly link: NatsLink,
    private readonly frames: ReliableFrames,
    private readonly flushes: Flushes,
    private readonly opts: ProbeOptions,
  ) {}

  /** Probes until someone answers for the node on connection `c`, then sends what it owes. */
  verify(dest: Dest, c: string): void {
    if (dest.verifying?.on === c) return;
    const link = this.link;
    const token = { on: c };
    dest.verifying = token;
    const started = Date.now();
    const current = () => dest.verifying === token && !link.closing && link.connId() === c;
    const done = (answered: boolean) => {
      dest.verifying = undefined;
      if (link.connId() !== c || link.closing) return;
      if (!answered) link.log?.warn({ subject: dest.subject, waitedMs: Date.now() - started }, 'nobody listens for this node on NATS: forwarding to it unverified');
      dest.verifiedOn = c;
      this.opts.resend(dest, c);
    };
    const attempt = () => {
      const nc = link.nc;
      if (!current() || !nc) {
        if (dest.verifying === token) dest.verifying = undefined; // the next connection probes again
        return;
      }
      probe(nc, dest).then(
        (answer) => {
          if (!current()) return;
          this.heard(dest, answer);
          done(true);
        },
        () => {
          if (!current()) {
            if (dest.verifying === token) dest.verifying = undefined;
            return;
          }
          if (Date.now() - started >= this.opts.verifyTimeoutMs) return done(false);
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            attempt();
          }, PROBE_RETRY_MS);
          this.timers.add(timer);
        },
      );
    };
    attempt();
  }

  /** Runs checkAcks() every STALL_PROBE_MS / 2 while reliable frames are unconfirmed. */
  watchAcks(): void {
    if (this.ackTimer || this.link.closing) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.checkAcks();
      if (this.frames.frames > 0) this.watchAcks();
    }, STALL_PROBE_MS / 2);
    this.ackTimer.unref();
  }

  /** Probes each destination whose oldest frame on this connection is unacknowledged for longer than STALL_PROBE_MS. */
  private checkAcks(): void {
    const c = this.link.connId();
    if (c === undefined) return; // the sender's resume() resends on the next connection
    const due = Date.now() - STALL_PROBE_MS;
    for (const dest of this.frames.dests.values()) {
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
    const link = this.link;
    const nc = link.nc;
    if (!nc) return;
    dest.stalled = true;
    const probedAt = Date.now();
    probe(nc, dest).then(
      (answer) => {
        dest.stalled = false;
        dest.unansweredSince = undefined;
        this.heard(dest, answer);
        if (link.connId() !== c || link.closing || firstHeld(dest) !== first || Date.now() - first.sentAt < this.opts.ackTimeoutMs) return;
        link.log?.warn({ subject: dest.subject, frames: dest.unconfirmed.size }, 'forwards left unacknowledged: sending them again');
        for (const p of dest.unconfirmed) p.on = undefined;
        dest.sentOn = undefined;
        this.opts.resend(dest, c);
      },
      (err: unknown) => {
        dest.stalled = false;
        if (link.connId() !== c || link.closing) return;
        if (requestFailureReason(err) !== 'no responders') {
          dest.unansweredSince ??= probedAt;
          if (Date.now() - dest.unansweredSince < this.opts.verifyTimeoutMs) return;
        }
        dest.unansweredSince = undefined;
        const park = this.opts.parker();
        const gone: Pending[] = [];
        for (const p of dest.unconfirmed) {
          if (p.dropped || p.parked || p.on !== c || p.sentAt >= probedAt) continue;
          if (park) {
            p.parked = true;
            p.on = undefined;
            dest.parked++;
          } else p.dropped = true;
          gone.push(p);
        }
        const q = dest.unconfirmed;
        while (q.first?.dropped) this.frames.remove(q);
        if (gone.length === 0) return;
        if (park) {
          dest.sentOn = undefined; // what is forwarded meanwhile waits behind them
          link.log?.debug({ subject: dest.subject, frames: gone.length }, 'nobody listens for this node on NATS: its unacknowledged forwards are held for their taker');
          park(dest, gone);
          return;
        }
        link.log?.warn({ subject: dest.subject, frames: gone.length }, 'nobody listens for this node on NATS: its unacknowledged forwards are given up');
        this.flushes.settle();
      },
    );
  }

  /** A probe's answer names the destination's run: a new one (a restart) settles what went to the one before. */
  private heard(dest: Dest, answer: Msg): void {
    const data = answer.data;
    if (data.length !== RUN_ID_BYTES) return;
    if (this.frames.heard(dest, Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex')) > 0) this.flushes.settle();
  }

  /** On close: no more probes. */
  close(): void {
    clearTimeout(this.ackTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
