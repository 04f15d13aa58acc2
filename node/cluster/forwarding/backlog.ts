/**
 * Backlog steering (docs/forwarding.md, "Backlog"): what the server of the current
 * connection has not read yet, measured by PINGs; `backlogged` from half of maxBacklogBytes
 * behind, forwards that are not reliable dropped beyond it, spread over the publishers.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { ping, type NatsLink } from '../../../shared/cluster/nats/connection.js';

/** `backlogged` from this share of maxBacklogBytes behind, until less than RESUME_SHARE is */
const PAUSE_SHARE = 1 / 2;
const RESUME_SHARE = 1 / 4;
/** a backlog probe (PING) is sent each time this share of maxBacklogBytes was published */
const BACKLOG_PROBES = 16;
/** see steer() */
const MIN_PASS = 0.01;
const PASS_INCREASE = 1.1;
/** backlog probes in flight, at most (a server that stopped answering gets no flood of PINGs) */
const MAX_BACKLOG_PROBES = 2 * BACKLOG_PROBES;
/** while forwards are dropped for the backlog, one summary warning per this long */
const DROP_LOG_EVERY_MS = 5_000;

/** What the server of one connection has not read yet, as far as we know. */
interface Count {
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

function newCount(on: string): Count {
  return { on, sent: 0, read: 0, probedAt: 0, probes: 0, passed: 0, capped: 0, pass: 1, over: false };
}

export class Backlog {
  /** what the current connection's server has not read yet, as far as we know */
  private count: Count = newCount('');
  /** forwards dropped for the backlog: since the last warning, and in all */
  private readonly drops = { count: 0, total: 0 };
  private logTimer?: NodeJS.Timeout;
  /** onDrained() callbacks waiting */
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly link: NatsLink,
    /** bytes published and not yet read by the server beyond which forwards that are not reliable are dropped */
    private readonly maxBytes: number,
  ) {}

  /** Whether the current connection's server is behind: from over half of maxBacklogBytes until a PONG shows less than a quarter. */
  get backlogged(): boolean {
    const bl = this.count;
    if (!bl.over && bl.sent - bl.read > this.maxBytes * PAUSE_SHARE) bl.over = true;
    return bl.over && this.link.connected && bl.on === this.link.lastId;
  }

  onDrained(cb: () => void): void {
    if (this.backlogged) this.drainWaiters.push(cb);
    else setImmediate(cb);
  }

  /** Runs the onDrained() callbacks. */
  drained(): void {
    if (this.drainWaiters.length === 0) return;
    const cbs = this.drainWaiters;
    this.drainWaiters = [];
    for (const cb of cbs) {
      try {
        cb();
      } catch (err) {
        this.link.log?.error({ err }, 'onDrained callback threw');
      }
    }
  }

  /**
   * Whether a forward that is not reliable is to be dropped for the backlog of connection `c`:
   * one not among the share sent, and any beyond maxBacklogBytes. When it is, the caller
   * schedules the end of the I/O turn, which steers the share (steer()).
   */
  drop(c: string): boolean {
    const bl = this.count;
    if (bl.on !== c) return false;
    const behind = bl.sent - bl.read;
    if (bl.pass >= 1 || Math.random() < bl.pass) {
      if (behind <= this.maxBytes) {
        bl.passed++;
        return false;
      }
      bl.capped++;
    }
    const d = this.drops;
    d.total++;
    if (d.count++ === 0) {
      this.link.log?.warn({ backlogBytes: behind, limitBytes: this.maxBytes }, 'NATS connection backlogged: dropping forwards that are not reliable (QoS 0)');
      // then one summary per DROP_LOG_EVERY_MS while it goes on
      this.logTimer ??= setTimeout(() => this.logDrops(), DROP_LOG_EVERY_MS);
      this.logTimer.unref();
    }
    return true;
  }

  /**
   * At the end of an I/O turn: when forwards were dropped beyond maxBacklogBytes in it, the
   * share sent from now on is cut to what got through, so that next turn the drops are spread
   * over every publisher at random instead of falling on those libuv read last (measured
   * without: 3 to 7 of the bench's 10 subscribers got nothing); when none were, it grows back.
   */
  steer(): void {
    const bl = this.count;
    if (bl.capped > 0) bl.pass = Math.max(MIN_PASS, (bl.pass * bl.passed) / (bl.passed + bl.capped));
    else if (bl.pass < 1) bl.pass = Math.min(1, bl.pass * PASS_INCREASE + MIN_PASS);
    bl.passed = bl.capped = 0;
  }

  private logDrops(): void {
    this.logTimer = undefined;
    const d = this.drops;
    if (d.count <= 1) {
      d.count = 0;
      return;
    }
    this.link.log?.warn({ dropped: d.count - 1, droppedTotal: d.total, overMs: DROP_LOG_EVERY_MS }, 'NATS connection backlogged: forwards that are not reliable (QoS 0) dropped');
    d.count = 1; // the next drop does not warn again at once; this timer does
    this.logTimer = setTimeout(() => this.logDrops(), DROP_LOG_EVERY_MS);
    this.logTimer.unref();
  }

  /** `n` bytes were published on connection `c`. */
  published(nc: NatsConnection, c: string, n: number): void {
    let bl = this.count;
    if (bl.on !== c) {
      this.count = bl = newCount(c);
      this.drained(); // the old connection's backlog is gone with it
    }
    bl.sent += n;
    this.probe(nc, bl);
  }

  /**
   * Every maxBacklogBytes / BACKLOG_PROBES published, a PING goes out; its PONG shows the
   * server read everything published before it. Also called when a PONG comes back: what
   * was published while MAX_BACKLOG_PROBES were out gets its PING then (else a backlog
   * with only dropped forwards after it would never be seen to clear).
   */
  private probe(nc: NatsConnection, bl: Count): void {
    if (bl.sent - bl.probedAt < this.maxBytes / BACKLOG_PROBES || bl.probes >= MAX_BACKLOG_PROBES) return;
    const upTo = (bl.probedAt = bl.sent);
    bl.probes++;
    ping(nc).then(
      () => {
        bl.probes--;
        if (upTo > bl.read) bl.read = upTo;
        if (bl.sent - bl.read < this.maxBytes * RESUME_SHARE) {
          bl.over = false;
          this.drained();
        }
        if (this.link.nc === nc && this.link.connId() === bl.on) this.probe(nc, bl);
      },
      () => {
        bl.probes--; // the connection went away; its successor starts a new count
      },
    );
  }

  /** On close: no more summaries. */
  close(): void {
    clearTimeout(this.logTimer);
  }
}
