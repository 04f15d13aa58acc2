/**
 * The receiving side of forwarding (docs/forwarding.md, "Receiving"): a NATS subscription
 * per node listened for, batches unpacked into frames handed on as views, repeats and frames
 * after a gap dropped, reliable frames acknowledged to their sender, probes answered.
 */
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsLink } from '../../../shared/cluster/nats/connection.js';
import type { Logger } from '../../../shared/logger.js';
import { forwardSubject } from './subjects.js';
import type { ForwardHandler } from './transport.js';
import { BATCH_HEADER, ENTRY_HEADER, INSTANCE_ID_BYTES, readFrame, readU64, RUN_ID_BYTES, writeU64 } from './wire.js';

/** sender instances a listener remembers the highest delivered seq of */
const DEDUPE_SENDERS = 1024;

/** The highest seq delivered per sender instance, least recently used first. */
class SeqLru {
  private readonly m = new Map<string, number>();
  get(k: string): number | undefined {
    return this.m.get(k);
  }
  set(k: string, seq: number): void {
    this.m.delete(k);
    this.m.set(k, seq);
    if (this.m.size > DEDUPE_SENDERS) this.m.delete(this.m.keys().next().value!);
  }
}

export class Receiver {
  /**
   * This run's id, in every acknowledgement and probe answer: what it delivered is known to
   * this run only (its dedupe is in memory), so a sender that finds a new run answering gives
   * up on what it sent the one before rather than have it delivered twice (docs/forwarding.md).
   */
  readonly run = randomBytes(RUN_ID_BYTES);
  private readonly log?: Logger;
  private readonly listeners: [string, ForwardHandler, SeqLru][] = [];
  /** acknowledgements to send at the end of this I/O turn: reply subject -> node -> seq */
  private readonly acksOut = new Map<string, Map<string, number>>();
  private acksScheduled = false;
  /**
   * Acknowledgements are cumulative (up to a seq), so once one waits for what a handler
   * stores, every later one waits behind it: resolved when the last of them may go.
   */
  private gate: Promise<void> | undefined;

  constructor(private readonly link: NatsLink) {
    this.log = link.log;
  }

  /** Listens for forwards to `node`; subscribed at once when connected, else on connecting. */
  async listen(node: string, handler: ForwardHandler): Promise<void> {
    if (this.link.closing) throw new Error('nats transport closed');
    forwardSubject(node); // validates the name
    const seen = new SeqLru();
    this.listeners.push([node, handler, seen]);
    const nc = this.link.nc;
    if (nc) {
      this.subscribe(nc, node, handler, seen);
      if (this.link.connected) await this.link.settleFlush(nc).catch(() => {});
    }
  }

  /** The first connection: every listener subscribes (the client re-sends them after a reconnect). */
  subscribeAll(nc: NatsConnection): void {
    for (const [node, handler, seen] of this.listeners) this.subscribe(nc, node, handler, seen);
  }

  /** `seen`: this listener's highest delivered seq per sender instance (it outlives reconnects) */
  private subscribe(nc: NatsConnection, node: string, handler: ForwardHandler, seen: SeqLru): void {
    nc.subscribe(forwardSubject(node), {
      callback: (err, msg) => {
        if (err) {
          this.log?.warn({ err, node }, 'forward subscription error');
          return;
        }
        const data = msg.data;
        if (data.length === 0) {
          // a probe: someone listens for the node on this server (this run)
          try {
            if (msg.reply) msg.respond(this.run);
          } catch {
            /* closing: the prober asks again */
          }
          return;
        }
        if (data.length < BATCH_HEADER) {
          this.log?.warn({ node }, 'dropping malformed forward batch');
          return;
        }
        // one Buffer view per batch: the frames handed on are views into it (see readFrame)
        const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        const sender = `${buf.readUInt32BE(0).toString(16)}:${buf.readUInt32BE(4).toString(16)}`;
        const floor = readU64(buf, INSTANCE_ID_BYTES);
        const last = seen.get(sender);
        // An unknown sender (its first batch here, or this process is a node started again):
        // everything below the floor is settled, so it starts at the floor. Taking its first
        // frame as it comes would acknowledge (cumulatively) frames before it that a former
        // run under this name never got: they come again once the sender finds them
        // unacknowledged, in order.
        let highest = last ?? (floor > 0 ? floor - 1 : -1);
        let repeats = 0;
        let gaps = 0;
        let stored: Promise<void>[] | undefined;
        try {
          for (let p = BATCH_HEADER; p < buf.length; ) {
            let seq: number;
            let frame: ReturnType<typeof readFrame>;
            try {
              if (p + ENTRY_HEADER > buf.length) throw new Error('truncated batch');
              const len = buf.readUInt32BE(p);
              if (len < 8 || p + 4 + len > buf.length) throw new Error('truncated batch');
              seq = readU64(buf, p + 4);
              if (seq !== 0 && seq !== highest + 1 && (highest < 0 ? false : seq <= highest || seq > floor)) {
                // a resend of what was delivered already, or one after frames that never came
                if (seq <= highest) repeats++;
                else gaps++;
                p += 4 + len;
                continue;
              }
              frame = readFrame(buf, p + ENTRY_HEADER, p + 4 + len);
              p += 4 + len;
            } catch (err) {
              this.log?.warn({ err, node }, 'dropping malformed forward batch');
              return;
            }
            if (seq !== 0) highest = seq;
            try {
              const taken = handler(frame.target, frame.encoded);
              if (taken !== undefined) (stored ??= []).push(taken);
            } catch (err) {
              this.log?.error({ err, node }, 'forward handler threw');
            }
          }
        } finally {
          if (highest >= 0 && highest !== last) seen.set(sender, highest);
          if (repeats) this.log?.debug({ node, sender, repeats }, 'dropped forwards delivered before');
          if (gaps) this.log?.debug({ node, sender, gaps, after: highest }, 'dropped forwards after a gap: waiting for the resend');
        }
        // (only batches with reliable frames ask for an acknowledgement)
        if (msg.reply && highest > 0) this.ackWhenTaken(msg.reply, node, highest, stored);
      },
    });
  }

  /** ack(), once what the handlers store is stored and every acknowledgement held before has gone. */
  private ackWhenTaken(reply: string, node: string, seq: number, stored: Promise<void>[] | undefined): void {
    if (stored === undefined && this.gate === undefined) return this.ack(reply, node, seq);
    const prev = this.gate;
    const gate: Promise<void> = Promise.all([prev, ...(stored ?? [])]).then(
      () => {
        if (this.gate === gate) this.gate = undefined;
        this.ack(reply, node, seq);
      },
      (err: unknown) => {
        // not stored: no acknowledgement; the sender sends the frames again
        if (this.gate === gate) this.gate = undefined;
        this.log?.warn({ err, node }, 'forwarded messages not stored');
      },
    );
    this.gate = gate;
  }

  /** Acknowledges reliable frames up to `seq` to their sender, at the end of this I/O turn (one message for all batches of the turn). */
  private ack(reply: string, node: string, seq: number): void {
    let byNode = this.acksOut.get(reply);
    if (!byNode) this.acksOut.set(reply, (byNode = new Map()));
    if ((byNode.get(node) ?? 0) < seq) byNode.set(node, seq);
    if (this.acksScheduled) return;
    this.acksScheduled = true;
    setImmediate(() => this.sendAcks());
  }

  /** An acknowledgement: u64 BE seq, this run's id, then the listener's node name in UTF-8. */
  private sendAcks(): void {
    this.acksScheduled = false;
    const nc = this.link.nc;
    for (const [reply, byNode] of this.acksOut) {
      for (const [node, seq] of byNode) {
        const name = Buffer.from(node, 'utf8');
        const body = Buffer.allocUnsafe(8 + RUN_ID_BYTES + name.length);
        writeU64(body, 0, seq);
        this.run.copy(body, 8);
        name.copy(body, 8 + RUN_ID_BYTES);
        try {
          nc?.publish(reply, body);
        } catch {
          /* not connected: the sender finds the frames unacknowledged and sends them again */
        }
      }
    }
    this.acksOut.clear();
  }
}
