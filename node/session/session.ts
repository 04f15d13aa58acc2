import type { Message, QoS } from '../../shared/message.js';
import type { Subscriber, SubOptions } from '../router/router.js';
import type { PublishEncoder } from '../protocol/codec.js';
import type { Connection } from '../protocol/connection.js';
import type { ClientSession, SessionHost } from '../core/ports.js';
import type { DropReason } from '../core/hooks.js';
import { metricIndex } from '../metrics/metrics.js';
import { MQueue, type Pending } from './mqueue.js';
import type { LongTimer } from '../core/long-timer.js';
import type { JournalEntry, SessionJournal } from './durable/journal.js';
import type { StoredWill } from './durable/store.js';
import { messageKey, type MoveDedup } from './move-dedup.js';

const M_DELIVERED = metricIndex('messages.delivered');
const M_DROPPED = metricIndex('delivery.dropped');
const M_DROPPED_NO_LOCAL = metricIndex('delivery.dropped.no_local');
const M_DROPPED_EXPIRED = metricIndex('delivery.dropped.expired');
const M_DROPPED_QUEUE_FULL = metricIndex('delivery.dropped.queue_full');
const M_DROPPED_QOS0 = metricIndex('delivery.dropped.qos0_msg');
const M_ACKED = metricIndex('messages.acked');
const M_PUBACK_MISSED = metricIndex('packets.puback.missed');
const M_PUBACK_INUSE = metricIndex('packets.puback.inuse');
const M_PUBREC_MISSED = metricIndex('packets.pubrec.missed');
const M_PUBREC_INUSE = metricIndex('packets.pubrec.inuse');
const M_PUBCOMP_MISSED = metricIndex('packets.pubcomp.missed');
const M_PUBCOMP_INUSE = metricIndex('packets.pubcomp.inuse');

/** A QoS 1/2 message sent and not yet acknowledged, by packet identifier. */
export interface InflightEntry {
  msg: Message;
  qos: QoS;
  retain: boolean;
  opts: SubOptions | undefined;
  /** QoS 2: PUBREC came, PUBREL sent, waiting for PUBCOMP */
  released: boolean;
  sentAt: number;
  /** its stored copy, when the session is durable */
  rec: JournalEntry | undefined;
}

/**
 * Stands in for a session map that has not been written yet: most sessions of an idle
 * fleet never subscribe or have anything in flight, and three empty Maps per session are
 * a large share of an idle connection's memory. Writing to it is a bug, so it throws.
 */
const EMPTY = new Map<never, never>();
EMPTY.set = () => {
  throw new Error('session map written before it was created');
};

/** Copies a payload that is a view into a larger socket chunk, so a stored message does not pin it. */
export function detachPayload(msg: Message): void {
  const p = msg.payload;
  if (p.byteOffset === 0 && p.buffer.byteLength === p.length) return;
  const own = Buffer.allocUnsafeSlow(p.length);
  p.copy(own);
  msg.payload = own;
}

/**
 * The state MQTT keeps for a client across connections [MQTT-4.1]: subscriptions, QoS 1/2
 * messages in flight, the message queue, and incoming QoS 2 packet identifiers awaiting
 * PUBREL. A session outlives its connection when the client asked for a persistent one.
 */
export class Session implements Subscriber, ClientSession {
  conn: Connection | undefined = undefined;
  /** the connection this session last had, for what an offline session reports (address, counters) */
  lastConn: Connection | undefined = undefined;
  private subs: Map<string, SubOptions> | undefined = undefined;
  private inflightMap: Map<number, InflightEntry> | undefined = undefined;
  private awaitingRelMap: Map<number, number> | undefined = undefined;
  readonly mqueue: MQueue;
  /** epoch ms; a session moved from another node keeps its original creation time */
  createdAt = Date.now();
  disconnectedAt = 0;
  /** seconds; 0xFFFFFFFF never expires */
  expiryInterval = 0;
  cleanStart = true;
  expiryTimer: LongTimer | undefined = undefined;
  /** the session's side of the durable store: set only on a persistent session with durable sessions on */
  journal: SessionJournal | undefined = undefined;
  /** a durable session's will: while connected with one, or while its delay runs */
  storedWill: StoredWill | undefined = undefined;
  /** epoch ms when this node rebuilt the session from the durable store (0: it did not) */
  restoredAt = 0;
  /** a session moved here from another node: for a while, one copy of each message (move-dedup.ts) */
  moveDedup: MoveDedup | undefined = undefined;
  private nextId = 1;
  /** the router's scratch (see router/overlap.ts) */
  dispatchMark = 0;

  constructor(
    readonly clientId: string,
    private readonly broker: SessionHost,
  ) {
    this.mqueue = new MQueue(broker.cfg.maxMqueue);
  }

  /** subscriptions by the topic filter as subscribed (with any `$share/<group>/` prefix); write through addSubscription */
  get subscriptions(): Map<string, SubOptions> {
    return this.subs ?? EMPTY;
  }

  addSubscription(topic: string, opts: SubOptions): void {
    (this.subs ??= new Map()).set(topic, opts);
  }

  /** QoS 1/2 messages sent to the client and not yet acknowledged, by packet identifier */
  get inflight(): Map<number, InflightEntry> {
    return this.inflightMap ?? EMPTY;
  }

  /** incoming QoS 2 packet identifiers → time of PUBLISH, until PUBREL; write through addAwaitingRel */
  get awaitingRel(): Map<number, number> {
    return this.awaitingRelMap ?? EMPTY;
  }

  /**
   * Resolves once a durable session has stored it (the PUBREC waits: a resent PUBLISH after a
   * crash is not delivered again), or at once while the store is unreachable.
   */
  addAwaitingRel(id: number, at: number): Promise<void> | undefined {
    (this.awaitingRelMap ??= new Map()).set(id, at);
    return this.journal?.recordStored();
  }

  /** PUBREL came (or the wait timed out) */
  deleteAwaitingRel(id: number): boolean {
    if (!this.awaitingRel.delete(id)) return false;
    this.journal?.changed();
    return true;
  }

  get online(): boolean {
    return this.conn !== undefined;
  }

  /** MQTT 5: one copy for overlapping subscriptions, with all their identifiers [MQTT-3.3.4-4] */
  get oneCopy(): boolean {
    return (this.conn ?? this.lastConn)?.version === 5;
  }

  /** How many QoS 1/2 messages may be in flight: our limit, capped by the client's Receive Maximum. */
  private get window(): number {
    const max = this.broker.cfg.maxInflight || 65535;
    const rm = this.conn?.clientReceiveMax ?? 65535;
    return max < rm ? max : rm;
  }

  recordStored(): Promise<void> | undefined {
    return this.journal?.recordStored();
  }

  deliver(msg: Message, opts: SubOptions, enc?: PublishEncoder): void {
    const d = this.moveDedup;
    if (d !== undefined) {
      if (Date.now() > d.until) this.moveDedup = undefined;
      else if (!d.first(msg)) return;
    }
    const m = this.broker.metrics;
    if (opts.nl && msg.from === this.clientId) {
      // [MQTT-3.8.3-3] No Local
      m.inc(M_DROPPED_NO_LOCAL);
      m.inc(M_DROPPED);
      if (this.broker.hooks.messageDropped.active) this.dropped(msg, 'no_local');
      return;
    }
    if (msg.expiresAt !== undefined && msg.expiresAt <= Date.now()) {
      m.inc(M_DROPPED_EXPIRED);
      m.inc(M_DROPPED);
      if (this.broker.hooks.messageDropped.active) this.dropped(msg, 'expired');
      return;
    }
    m.inc(M_DELIVERED);
    const qos = (this.broker.cfg.upgradeQos ? opts.qos : msg.qos < opts.qos ? msg.qos : opts.qos) as QoS;
    const delivered = this.broker.hooks.messageDelivered;
    if (delivered.active) delivered.emit({ clientid: this.clientId, message: msg, qos });
    // [MQTT-3.3.1-12] the retain flag is kept on live delivery only with Retain As Published
    this.send(msg, qos, opts.rap ? msg.retain : false, opts, enc);
  }

  /** Delivers a retained message matched at SUBSCRIBE time: the retain flag stays set [MQTT-3.3.1-8]. */
  deliverRetained(msg: Message, opts: SubOptions): void {
    this.broker.metrics.inc(M_DELIVERED);
    const qos = (msg.qos < opts.qos ? msg.qos : opts.qos) as QoS;
    const delivered = this.broker.hooks.messageDelivered;
    if (delivered.active) delivered.emit({ clientid: this.clientId, message: msg, qos });
    this.send(msg, qos, true, opts, undefined);
  }

  /** message.dropped for one delivery to this session (the caller checked that someone listens). */
  private dropped(msg: Message, reason: DropReason): void {
    this.broker.hooks.messageDropped.emit({ message: msg, reason, clientid: this.clientId });
  }

  private send(msg: Message, qos: QoS, retain: boolean, opts: SubOptions | undefined, enc: PublishEncoder | undefined): void {
    const conn = this.conn;
    // a durable session stores its copy of every QoS 1/2 message; the publisher's acknowledgement waits for it
    const rec = qos > 0 && this.journal !== undefined ? this.journal.append({ msg, qos, retain, subId: opts?.subId, subIds: opts?.subIds }) : undefined;
    if (!conn) return this.enqueue({ msg, qos, retain, opts, rec });
    if (qos === 0) {
      // QoS 0 to a client that reads too slowly is dropped, not queued: the queue is for
      // offline sessions and for QoS 1/2, which must not be lost
      if (conn.congested()) return this.dropQos0(msg);
      conn.sendPublish(msg, 0, retain, opts, 0, false, enc);
      return;
    }
    // keep order: nothing overtakes what is already queued
    if (this.mqueue.length > 0 || this.inflight.size >= this.window || conn.congested()) {
      return this.enqueue({ msg, qos, retain, opts, rec });
    }
    this.sendWithId(conn, msg, qos, retain, opts, enc, rec, false);
  }

  private sendWithId(conn: Connection, msg: Message, qos: QoS, retain: boolean, opts: SubOptions | undefined, enc: PublishEncoder | undefined, rec: JournalEntry | undefined, dup: boolean): void {
    const id = this.allocId();
    detachPayload(msg);
    (this.inflightMap ??= new Map()).set(id, { msg, qos, retain, opts, released: false, sentAt: Date.now(), rec });
    conn.sendPublish(msg, qos, retain, opts, id, dup, enc);
  }

  private dropQos0(msg: Message): void {
    this.broker.metrics.inc(M_DROPPED_QOS0);
    this.broker.metrics.inc(M_DROPPED);
    if (this.broker.hooks.messageDropped.active) this.dropped(msg, 'qos0_msg');
  }

  private enqueue(p: Pending): void {
    const m = this.broker.metrics;
    if (p.qos === 0 && !this.broker.cfg.mqueueStoreQos0) return this.dropQos0(p.msg);
    detachPayload(p.msg);
    const dropped = this.mqueue.push(p);
    if (dropped) {
      this.journal?.done(dropped.rec);
      m.inc(dropped.qos === 0 ? M_DROPPED_QOS0 : M_DROPPED_QUEUE_FULL);
      m.inc(M_DROPPED);
      if (this.broker.hooks.messageDropped.active) this.dropped(dropped.msg, dropped.qos === 0 ? 'qos0_msg' : 'queue_full');
    }
  }

  /**
   * Everything still owed to the client, oldest first: unacknowledged in-flight messages,
   * then the queue. Used when the session moves to another node.
   */
  pendingMessages(): (Pending & { id?: number; released?: boolean })[] {
    const out: (Pending & { id?: number; released?: boolean })[] = [];
    for (const [id, e] of this.inflight) out.push({ msg: e.msg, qos: e.qos, retain: e.retain, opts: e.opts, rec: undefined, id, released: e.released });
    for (let i = 0; i < this.mqueue.length; i++) {
      const p = this.mqueue.shift()!;
      out.push(p);
      this.mqueue.push(p);
    }
    return out;
  }

  /**
   * A message carried over from another node: queued to be sent once the client is here, or,
   * with the packet id it was in flight under there, back in flight under it.
   */
  enqueueTransferred(p: Pending, id?: number, released = false): void {
    if (p.qos > 0 && this.journal !== undefined) p.rec = this.journal.append({ msg: p.msg, qos: p.qos, retain: p.retain, subId: p.opts?.subId, subIds: p.opts?.subIds });
    if (id === undefined || p.qos === 0 || this.inflight.has(id)) return this.enqueue(p);
    this.restoreInflight(id, p, released && p.qos === 2);
    if (released && p.rec !== undefined) void this.journal?.release(p.rec, id);
  }

  /**
   * A message read back from the durable store on resume, queued to be sent again. QoS 1 and
   * 2 go out with DUP set: which of them the client saw before its node died is not known,
   * and DUP 0 would claim a first attempt [MQTT-3.3.1-1].
   */
  enqueueRestored(p: Pending): void {
    p.dup = p.qos > 0;
    this.enqueue(p);
  }

  /**
   * An outgoing message the client had under packet id `id` on its previous node (moved or
   * died), back in flight under that id: resume() sends it again with DUP, or PUBREL when
   * `released` (QoS 2 past PUBREC) [MQTT-4.4.0-1].
   */
  restoreInflight(id: number, p: Pending, released: boolean): void {
    detachPayload(p.msg);
    (this.inflightMap ??= new Map()).set(id, { msg: p.msg, qos: p.qos, retain: p.retain, opts: p.opts, released, sentAt: Date.now(), rec: p.rec });
  }

  /** Sends queued messages while the window and the socket allow. */
  drain(): void {
    const conn = this.conn;
    if (!conn) return;
    const now = Date.now();
    for (let p = this.mqueue.peek(); p; p = this.mqueue.peek()) {
      if (conn.congested()) return;
      if (p.qos > 0 && this.inflight.size >= this.window) return;
      this.mqueue.shift();
      if (p.msg.expiresAt !== undefined && p.msg.expiresAt <= now) {
        this.journal?.done(p.rec);
        this.broker.metrics.inc(M_DROPPED_EXPIRED);
        this.broker.metrics.inc(M_DROPPED);
        if (this.broker.hooks.messageDropped.active) this.dropped(p.msg, 'expired');
        continue;
      }
      if (p.qos === 0) conn.sendPublish(p.msg, 0, p.retain, p.opts, 0, false, undefined);
      else this.sendWithId(conn, p.msg, p.qos, p.retain, p.opts, undefined, p.rec, p.dup === true);
    }
  }

  /** After a resumed session's CONNACK: resend what was in flight, then the queue [MQTT-4.4.0-1]. */
  resume(): void {
    const conn = this.conn;
    if (!conn) return;
    for (const [id, e] of this.inflight) {
      if (e.released) conn.sendAck('pubrel', id, 0);
      else conn.sendPublish(e.msg, e.qos, e.retain, e.opts, id, true, undefined);
      e.sentAt = Date.now();
    }
    this.drain();
  }

  /** Resends unacknowledged messages older than the retry interval (MQTT 3.x only; MQTT 5 forbids it). */
  retry(now: number, intervalMs: number): void {
    const conn = this.conn;
    if (!conn) return;
    for (const [id, e] of this.inflight) {
      if (now - e.sentAt < intervalMs) break; // insertion order is send order
      if (e.released) conn.sendAck('pubrel', id, 0);
      else conn.sendPublish(e.msg, e.qos, e.retain, e.opts, id, true, undefined);
      e.sentAt = now;
      this.inflightMap!.delete(id);
      this.inflightMap!.set(id, e); // move to the back: it was just sent
    }
  }

  puback(id: number): void {
    const e = this.inflight.get(id);
    if (!e) return this.broker.metrics.inc(M_PUBACK_MISSED);
    if (e.qos !== 1) return this.broker.metrics.inc(M_PUBACK_INUSE);
    this.inflight.delete(id);
    this.journal?.done(e.rec);
    this.broker.metrics.inc(M_ACKED);
    this.acked(e.msg);
    this.drain();
  }

  /** A message in flight that could not be sent after all (larger than the client takes). */
  dropInflight(id: number): void {
    const e = this.inflight.get(id);
    if (!e) return;
    this.inflight.delete(id);
    this.journal?.done(e.rec);
  }

  /** PUBREC for a QoS 2 message we sent: answer PUBREL (or end the flow on an error reason code). */
  pubrec(id: number, reasonCode: number): void {
    const conn = this.conn!;
    const e = this.inflight.get(id);
    if (!e) {
      this.broker.metrics.inc(M_PUBREC_MISSED);
      conn.sendAck('pubrel', id, 0x92);
      return;
    }
    if (e.qos !== 2 || e.released) {
      this.broker.metrics.inc(M_PUBREC_INUSE);
      if (e.released) conn.sendAck('pubrel', id, 0);
      return;
    }
    this.broker.metrics.inc(M_ACKED);
    this.acked(e.msg);
    if (reasonCode >= 0x80) {
      // [MQTT-4.3.3] an error PUBREC ends the exchange
      this.inflight.delete(id);
      this.journal?.done(e.rec);
      this.drain();
      return;
    }
    e.released = true;
    e.sentAt = Date.now();
    if (this.journal === undefined || e.rec === undefined) return conn.sendAck('pubrel', id, 0);
    // PUBREL only once the store knows: a client that delivers on PUBREL must never get the message again
    void this.journal.release(e.rec, id).then(() => {
      if (this.conn === conn && this.inflight.get(id) === e) conn.sendAck('pubrel', id, 0);
    });
  }

  pubcomp(id: number): void {
    const e = this.inflight.get(id);
    if (!e) return this.broker.metrics.inc(M_PUBCOMP_MISSED);
    if (!e.released) return this.broker.metrics.inc(M_PUBCOMP_INUSE);
    this.inflight.delete(id);
    if (this.journal !== undefined) this.journal.completed(id, e.rec, messageKey(e.msg));
    this.drain();
  }

  private acked(msg: Message): void {
    const h = this.broker.hooks.messageAcked;
    if (h.active) h.emit({ clientid: this.clientId, message: msg });
  }

  /** A packet identifier not in use by an outgoing QoS 1/2 message [MQTT-2.3.1-4]. */
  private allocId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }
}
