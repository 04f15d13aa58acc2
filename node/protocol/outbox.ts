import type { Duplex } from 'node:stream';
import { ConnState, type PacketHost } from '../core/ports.js';
import { metricIndex } from '../metrics/metrics.js';
import type { ProtocolVersion } from './codec.js';

const M_BYTES_SENT = metricIndex('bytes.sent');
const M_PACKETS_SENT = metricIndex('packets.sent');

/**
 * A connection's batch is written at once when it reaches this size, rather than at the end
 * of the I/O turn: libuv may read megabytes from busy publishers in one turn, and holding
 * all of it back would count healthy subscribers as congested.
 */
const FLUSH_BYTES = 65536;

/** Packets queued by every connection during one I/O turn, written once per connection after it. */
const dirty: Outbox[] = [];
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  for (let i = 0; i < dirty.length; i++) dirty[i]!.flush();
  dirty.length = 0;
}

/** Acknowledgements (cmd, id, reason code triples) released together once `after` resolves. */
interface AckLink {
  after: Promise<void> | undefined;
  acks: (string | number)[];
}

/**
 * The write side of a connection: everything queued during one I/O turn goes out in one
 * socket write, and PUBLISH acknowledgements that wait for forwarded messages keep their
 * order. The first layer of Connection (outbound.ts encodes, connection.ts reads): layers
 * of one class rather than collaborating objects, because a connection's idle memory is
 * what limits how many a node holds, and each extra object per connection costs it.
 */
export abstract class Outbox {
  state = ConnState.New;
  version: ProtocolVersion = 4;
  // per-client counters of the write side (GET /api/v4/clients)
  sendOct = 0;
  sendCnt = 0;
  sendPkt = 0;
  protected pending: Buffer[] | undefined = undefined;
  protected pendingBytes = 0;
  /** when the once-a-second check first found the client congested (0: it was not) */
  private congestedSince = 0;
  /** acknowledgements waiting for forwarded messages to reach the nodes they went to, in order */
  private ackChain: Promise<void> | undefined = undefined;
  /** the last link of ackChain, still open for acknowledgements waiting on the same flush */
  private ackTail: AckLink | undefined = undefined;

  constructor(
    readonly broker: PacketHost,
    readonly socket: Duplex,
  ) {}

  abstract sendAck(cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', messageId: number, reasonCode: number): void;

  /** Queues bytes for the end of this I/O turn. */
  write(buf: Buffer): void {
    if (this.state === ConnState.Closed) return;
    this.sendPkt++;
    this.broker.metrics.inc(M_PACKETS_SENT);
    if (this.pending === undefined) {
      this.pending = [buf];
      this.pendingBytes = buf.length;
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    } else {
      this.pending.push(buf);
      this.pendingBytes += buf.length;
      if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    }
  }

  flush(): void {
    const pending = this.pending;
    if (!pending) return;
    const bytes = this.pendingBytes;
    this.pending = undefined;
    this.pendingBytes = 0;
    if (this.state === ConnState.Closed || this.socket.destroyed) return;
    this.sendOct += bytes;
    this.sendCnt++;
    this.broker.metrics.inc(M_BYTES_SENT, bytes);
    if (pending.length === 1) this.socket.write(pending[0]!);
    else if (bytes < 65536) this.socket.write(Buffer.concat(pending, bytes));
    else {
      // large batches go out as one writev rather than being copied again
      this.socket.cork();
      for (const b of pending) this.socket.write(b);
      this.socket.uncork();
    }
  }

  /** Whether the socket is backed up past the configured limit (the client reads too slowly). */
  congested(): boolean {
    return this.pendingBytes + this.socket.writableLength > this.broker.cfg.outBufferLimit;
  }

  /**
   * Once a second: whether the client has been congested for `timeoutMs` without a break
   * (nothing is written to a congested client but acknowledgements, so one that reads at
   * all is soon below the limit again: one that stays above it does not read).
   */
  sendTimedOut(now: number, timeoutMs: number): boolean {
    if (!this.congested()) {
      this.congestedSince = 0;
      return false;
    }
    if (this.congestedSince === 0) this.congestedSince = now;
    return now - this.congestedSince >= timeoutMs;
  }

  /**
   * Acknowledges a PUBLISH once `after` resolves (a forwarded QoS 1/2 message reached the
   * nodes it went to). Acknowledgements leave in the order the PUBLISH packets came
   * [MQTT-4.6.0-2], so one that waits holds back those after it.
   */
  ackPublish(cmd: 'puback' | 'pubrec', messageId: number, reasonCode: number, after: Promise<void> | undefined): void {
    if (after === undefined && this.ackChain === undefined) return this.sendAck(cmd, messageId, reasonCode);
    // acknowledgements waiting for the same flush share one link of the chain: one
    // promise per I/O turn rather than per message
    const tail = this.ackTail;
    if (tail !== undefined && tail.after === after) {
      tail.acks.push(cmd, messageId, reasonCode);
      return;
    }
    const link: AckLink = { after, acks: [cmd, messageId, reasonCode] };
    this.ackTail = link;
    const chain: Promise<void> = (this.ackChain ?? Promise.resolve())
      .then(() => after)
      .then(() => {
        if (this.ackTail === link) this.ackTail = undefined;
        const a = link.acks;
        for (let i = 0; i < a.length; i += 3) this.sendAck(a[i] as 'puback' | 'pubrec', a[i + 1] as number, a[i + 2] as number);
      })
      .finally(() => {
        if (this.ackChain === chain) this.ackChain = undefined;
      });
    this.ackChain = chain;
  }
}
