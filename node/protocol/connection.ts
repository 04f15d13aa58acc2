import type { Duplex } from 'node:stream';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import type { Message, QoS } from '../../shared/message.js';
import type { Broker } from '../broker.js';
import type { Listener } from '../listeners/listener.js';
import type { Session } from '../session/session.js';
import type { SubOptions } from '../router/router.js';
import type { AclCache } from '../access/acl-cache.js';
import type { AclSubject } from '../access/acl.js';
import { metricIndex } from '../metrics/metrics.js';
import {
  FRAME_INCOMPLETE,
  FRAME_MALFORMED,
  MalformedPacketError,
  PublishEncoder,
  decodePacket,
  encodePacket,
  parsePublish,
  readFrame,
  type ProtocolVersion,
} from './codec.js';
import { RC, type ShutdownReason } from './reason-codes.js';
import { handlePacket, handlePublish } from './handlers/index.js';

const M_BYTES_RECEIVED = metricIndex('bytes.received');
const M_BYTES_SENT = metricIndex('bytes.sent');
const M_PACKETS_RECEIVED = metricIndex('packets.received');
const M_PACKETS_SENT = metricIndex('packets.sent');
const M_PUBLISH_SENT = metricIndex('packets.publish.sent');
const M_MESSAGES_SENT = metricIndex('messages.sent');
const M_QOS_SENT = [metricIndex('messages.qos0.sent'), metricIndex('messages.qos1.sent'), metricIndex('messages.qos2.sent')];
const M_DROPPED_TOO_LARGE = metricIndex('delivery.dropped.too_large');
const M_DELIVERY_DROPPED = metricIndex('delivery.dropped');
const M_DISCONNECT_SENT = metricIndex('packets.disconnect.sent');
const M_PINGREQ = metricIndex('packets.pingreq.received');
const M_PINGRESP = metricIndex('packets.pingresp.sent');
const ACK_METRIC: Record<string, number> = {
  puback: metricIndex('packets.puback.sent'),
  pubrec: metricIndex('packets.pubrec.sent'),
  pubrel: metricIndex('packets.pubrel.sent'),
  pubcomp: metricIndex('packets.pubcomp.sent'),
};
const PINGRESP = Buffer.from([0xd0, 0x00]);
const ACK_TYPE: Record<string, number> = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 };

/**
 * A connection's batch is written at once when it reaches this size, rather than at the end
 * of the I/O turn: libuv may read megabytes from busy publishers in one turn, and holding
 * all of it back would count healthy subscribers as congested.
 */
const FLUSH_BYTES = 65536;

/** Packets queued by every connection during one I/O turn, written once per connection after it. */
const dirty: Connection[] = [];
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
 * A client throttled for the cluster transport's backlog is read again after this long at
 * the latest, whatever the transport says: a connection is never stalled for long, and its
 * PINGREQs still come in well within any keepalive.
 */
const MAX_THROTTLE_MS = 500;

/** Scratch for readFrame: one for all connections, as reads never interleave. */
const FRAME = { length: 0 };

/**
 * Socket listeners shared by every connection (the socket points back to its connection),
 * instead of four closures per connection: an idle connection's memory is what limits
 * how many a node holds.
 */
const CONN = Symbol('connection');
type ConnSocket = Duplex & { [CONN]: Connection };
function onSocketData(this: ConnSocket, chunk: Buffer): void {
  this[CONN].onData(chunk);
}
function onSocketClosed(this: ConnSocket): void {
  this[CONN].onClosed();
}
function onSocketDrain(this: ConnSocket): void {
  this[CONN].session?.drain();
}

export const enum ConnState {
  New = 0,
  Connected = 1,
  Closed = 2,
}

/** The information a CONNECT leaves on its connection (EMQX's clientinfo and conninfo). */
export interface ConnectInfo {
  clientId: string;
  username: string | undefined;
  protoName: string;
  keepalive: number;
  cleanStart: boolean;
  isBridge: boolean;
  connectedAt: number;
  will: Message | undefined;
  /** seconds (MQTT 5 Will Delay Interval) */
  willDelay: number;
  /** seconds (the will's MQTT 5 Message Expiry Interval), counted from when it is published */
  willExpiry: number | undefined;
}

/**
 * One client connection (EMQX's channel): framing of the byte stream, dispatch to the
 * packet handlers, per-client counters, and the write side, which batches everything
 * queued during one I/O turn into one socket write.
 */
export class Connection implements AclSubject {
  state = ConnState.New;
  version: ProtocolVersion = 4;
  info: ConnectInfo | undefined = undefined;
  session: Session | undefined = undefined;
  aclCache: AclCache | undefined = undefined;
  /** ms timestamp of the last packet received, for keepalive */
  lastRecv = Date.now();
  readonly openedAt = this.lastRecv;

  // MQTT 5 limits the client announced in CONNECT
  clientReceiveMax = 65535;
  clientMaxPacketSize = 0;
  clientTopicAliasMax = 0;
  problemInformation = true;
  /** topic aliases the client set (inbound) */
  inAliases: Map<number, string> | undefined = undefined;
  /** topic aliases we set towards the client (outbound) */
  private outAliases: Map<string, number> | undefined = undefined;

  // per-client counters (GET /api/v4/clients)
  recvOct = 0;
  recvCnt = 0;
  recvPkt = 0;
  recvMsg = 0;
  sendOct = 0;
  sendCnt = 0;
  sendPkt = 0;
  sendMsg = 0;

  private pending: Buffer[] | undefined = undefined;
  private pendingBytes = 0;
  private rest: Buffer[] | undefined = undefined;
  private held = false;
  /** reading is paused by throttle(): until the timer, or the drain callback registered (one at a time) */
  private throttled: NodeJS.Timeout | undefined = undefined;
  private drainAwaited = false;
  /** acknowledgements waiting for forwarded messages to reach the nodes they went to, in order */
  private ackChain: Promise<void> | undefined = undefined;
  /** the last link of ackChain, still open for acknowledgements waiting on the same flush */
  private ackTail: AckLink | undefined = undefined;
  private restBytes = 0;
  // the last topic this client published to (see TopicCache)
  topicBytes: Buffer | undefined = undefined;
  topic = '';
  closeReason: ShutdownReason | undefined = undefined;

  constructor(
    readonly broker: Broker,
    readonly socket: Duplex,
    readonly listener: Listener,
    readonly peerHost: string,
    readonly peerPort: number,
  ) {
    (socket as Duplex & { [CONN]?: Connection })[CONN] = this;
    socket.on('data', onSocketData);
    socket.on('error', onSocketClosed);
    socket.on('close', onSocketClosed);
    socket.on('drain', onSocketDrain);
  }

  get clientId(): string | undefined {
    return this.info?.clientId;
  }

  // who this client is, for ACL checks (AclSubject), without an object of its own
  get clientid(): string {
    return this.info?.clientId ?? '';
  }

  get username(): string | undefined {
    return this.info?.username;
  }

  get peerhost(): string {
    return this.peerHost;
  }

  /** @internal called by the socket's data listener */
  onData(chunk: Buffer): void {
    if (this.state === ConnState.Closed) return;
    this.recvOct += chunk.length;
    this.recvCnt++;
    this.broker.metrics.inc(M_BYTES_RECEIVED, chunk.length);
    this.lastRecv = Date.now();
    let buf = chunk;
    if (this.rest) {
      // a packet spans chunks: collect until it is whole, then join once
      this.rest.push(chunk);
      this.restBytes += chunk.length;
      if (this.held) return;
      const need = this.neededBytes(this.rest[0]!.length >= 5 ? this.rest[0]! : Buffer.concat(this.rest));
      if (need > this.broker.cfg.maxPacketSize) return this.protocolError(RC.PACKET_TOO_LARGE, 'frame_too_large');
      if (need > 0 && this.restBytes < need) return;
      buf = Buffer.concat(this.rest, this.restBytes);
      this.rest = undefined;
      this.restBytes = 0;
    } else if (this.held) {
      this.rest = [chunk];
      this.restBytes = chunk.length;
      return;
    }
    this.process(buf);
  }

  /** Handles the whole packets in `buf`, keeping an incomplete tail (or everything after a CONNECT that waits). */
  private process(buf: Buffer): void {
    let off = 0;
    const frame = FRAME;
    const max = this.broker.cfg.maxPacketSize;
    while (off < buf.length) {
      const hl = readFrame(buf, off, frame);
      if (hl === FRAME_INCOMPLETE) break;
      if (hl === FRAME_MALFORMED) return this.protocolError(RC.MALFORMED_PACKET, 'malformed_packet');
      const total = hl + frame.length;
      if (total > max) return this.protocolError(RC.PACKET_TOO_LARGE, 'frame_too_large');
      if (off + total > buf.length) break;
      this.onFrame(buf, off, hl, frame.length);
      if ((this.state as ConnState) === ConnState.Closed) return;
      off += total;
      if (this.held) break;
    }
    if (off < buf.length) {
      this.rest = [buf.subarray(off)];
      this.restBytes = buf.length - off;
    }
  }

  /**
   * Holds back the packets after a CONNECT while its session is being opened (the cluster
   * may have to take it over from another node): they are kept, not read further.
   */
  hold(): void {
    this.held = true;
    this.socket.pause();
  }

  /** Resumes after hold(), handling what arrived meanwhile. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.state === ConnState.Closed) return;
    if (this.throttled === undefined) this.socket.resume();
    if (this.rest) {
      const buf = Buffer.concat(this.rest, this.restBytes);
      this.rest = undefined;
      this.restBytes = 0;
      this.process(buf);
    }
  }

  /**
   * Stops reading from this client while the cluster transport works off its backlog (what
   * was read already is still handled): this publisher's messages go to other nodes faster
   * than they can be sent. Resumes when the transport has caught up, or MAX_THROTTLE_MS.
   */
  throttle(): void {
    if (this.throttled !== undefined || this.state === ConnState.Closed) return;
    this.socket.pause();
    this.throttled = setTimeout(() => this.unthrottle(), MAX_THROTTLE_MS);
    if (this.drainAwaited) return; // the callback of an earlier throttle() is still registered
    this.drainAwaited = true;
    this.broker.cluster.onForwardsDrained(() => {
      this.drainAwaited = false;
      this.unthrottle();
    });
  }

  private unthrottle(): void {
    if (this.throttled === undefined) return;
    clearTimeout(this.throttled);
    this.throttled = undefined;
    if (this.state === ConnState.Closed) return;
    // the pause was ours, not the client's silence
    this.lastRecv = Date.now();
    if (!this.held) this.socket.resume();
  }

  /** Bytes needed for the packet at the start of `buf`, or 0 when its header is still incomplete. */
  private neededBytes(buf: Buffer): number {
    const hl = readFrame(buf, 0, FRAME);
    return hl > 0 ? hl + FRAME.length : 0;
  }

  private onFrame(buf: Buffer, off: number, hl: number, rl: number): void {
    this.recvPkt++;
    this.broker.metrics.inc(M_PACKETS_RECEIVED);
    const type = buf[off]! >> 4;
    try {
      if (this.state === ConnState.Connected) {
        if (type === 3) {
          const pkt = parsePublish(buf, off, hl, rl, this.version === 5, this);
          if (pkt) return handlePublish(this, pkt);
        } else if (type === 12) {
          if (rl !== 0 || buf[off] !== 0xc0) return this.protocolError(RC.MALFORMED_PACKET, 'malformed_packet');
          this.broker.metrics.inc(M_PINGREQ);
          this.broker.metrics.inc(M_PINGRESP);
          this.write(PINGRESP);
          return;
        }
      } else if (type !== 1) {
        // [MQTT-3.1.0-1] the first packet must be CONNECT
        return this.protocolError(RC.PROTOCOL_ERROR, 'protocol_error');
      }
      const packet = decodePacket(buf.subarray(off, off + hl + rl), this.version);
      handlePacket(this, packet);
    } catch (err) {
      if (type === 1 && this.state === ConnState.New) return this.connectError(err as Error, buf, off + hl);
      if (err instanceof MalformedPacketError || err instanceof Error) {
        this.broker.log.debug({ clientid: this.clientId, err: (err as Error).message }, 'malformed packet');
        return this.protocolError(RC.MALFORMED_PACKET, 'malformed_packet');
      }
      throw err;
    }
  }

  /** A CONNECT that does not parse: answer unsupported versions with a CONNACK [MQTT-3.1.2-2], then close. */
  private connectError(err: Error, buf: Buffer, varHeader: number): void {
    if (/protocol version/i.test(err.message)) {
      const nameLen = buf.length >= varHeader + 2 ? buf.readUInt16BE(varHeader) : 0;
      const level = buf[varHeader + 2 + nameLen];
      this.socket.write(level === 5 ? Buffer.from([0x20, 0x03, 0x00, RC.UNSUPPORTED_PROTOCOL_VERSION, 0x00]) : Buffer.from([0x20, 0x02, 0x00, 0x01]));
    }
    this.broker.log.debug({ peer: `${this.peerHost}:${this.peerPort}`, err: err.message }, 'bad CONNECT');
    this.close('malformed_packet');
  }

  /** Closes on a protocol violation, telling an MQTT 5 client why [MQTT-4.13]. */
  protocolError(reasonCode: number, reason: ShutdownReason): void {
    if (this.state === ConnState.Connected && this.version === 5) this.sendDisconnect(reasonCode);
    this.close(reason);
  }

  // ---- write side ----

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

  sendPacket(packet: Packet): void {
    this.write(encodePacket(packet, this.version));
  }

  sendDisconnect(reasonCode: number): void {
    if (this.version !== 5 || this.state === ConnState.Closed) return;
    this.broker.metrics.inc(M_DISCONNECT_SENT);
    this.sendPacket({ cmd: 'disconnect', reasonCode });
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

  /** PUBACK, PUBREC, PUBREL or PUBCOMP; the reason code is only sent to MQTT 5 clients and when not 0. */
  sendAck(cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', messageId: number, reasonCode: number): void {
    this.broker.metrics.inc(ACK_METRIC[cmd]!);
    if (this.version === 5 && reasonCode !== 0) {
      this.write(Buffer.from([ACK_TYPE[cmd]!, 3, messageId >> 8, messageId & 0xff, reasonCode]));
    } else {
      this.write(Buffer.from([ACK_TYPE[cmd]!, 2, messageId >> 8, messageId & 0xff]));
    }
  }

  /**
   * Sends one PUBLISH to this client. Messages without per-subscriber MQTT 5 properties use
   * the dispatch's shared encoding; the rest are encoded for this client by mqtt-packet.
   */
  sendPublish(msg: Message, qos: QoS, retain: boolean, opts: SubOptions | undefined, messageId: number, dup: boolean, enc: PublishEncoder | undefined): void {
    const v5 = this.version === 5;
    let buf: Buffer;
    if (v5 && (msg.properties !== undefined || msg.expiresAt !== undefined || opts?.subId !== undefined || this.clientTopicAliasMax > 0)) {
      buf = this.encodePublishV5(msg, qos, retain, opts, messageId, dup);
    } else {
      enc ??= new PublishEncoder(msg.topic, msg.payload);
      buf = qos === 0 ? enc.encode(0, retain, v5) : enc.withId(qos, retain, v5, messageId, dup);
    }
    if (this.clientMaxPacketSize > 0 && buf.length > this.clientMaxPacketSize) {
      // [MQTT-3.1.2-25] never send a packet larger than the client's Maximum Packet Size
      this.broker.metrics.inc(M_DROPPED_TOO_LARGE);
      this.broker.metrics.inc(M_DELIVERY_DROPPED);
      if (qos > 0) this.session?.inflight.delete(messageId);
      return;
    }
    const m = this.broker.metrics;
    m.inc(M_PUBLISH_SENT);
    m.inc(M_MESSAGES_SENT);
    m.inc(M_QOS_SENT[qos]!);
    this.sendMsg++;
    this.write(buf);
  }

  private encodePublishV5(msg: Message, qos: QoS, retain: boolean, opts: SubOptions | undefined, messageId: number, dup: boolean): Buffer {
    const properties: NonNullable<IPublishPacket['properties']> = { ...msg.properties };
    if (msg.expiresAt !== undefined) {
      // [MQTT-3.3.2-6] the interval sent is what remains of it
      properties.messageExpiryInterval = Math.max(1, Math.ceil((msg.expiresAt - Date.now()) / 1000));
    }
    if (opts?.subId !== undefined) properties.subscriptionIdentifier = opts.subId;
    let topic = msg.topic;
    if (this.clientTopicAliasMax > 0 && !dup) {
      this.outAliases ??= new Map();
      const alias = this.outAliases.get(topic);
      if (alias !== undefined) {
        properties.topicAlias = alias;
        topic = '';
      } else if (this.outAliases.size < this.clientTopicAliasMax) {
        const next = this.outAliases.size + 1;
        this.outAliases.set(topic, next);
        properties.topicAlias = next;
      }
    }
    const buf = encodePacket({ cmd: 'publish', topic, payload: msg.payload, qos, retain, dup, messageId: qos > 0 ? messageId : undefined, properties }, 5);
    // a packet too large for the client is dropped by the caller: the alias it would have set is not known to the client
    if (topic !== '' && properties.topicAlias !== undefined && this.clientMaxPacketSize > 0 && buf.length > this.clientMaxPacketSize) this.outAliases!.delete(topic);
    return buf;
  }

  // ---- lifecycle ----

  /** Ends the connection: flushes what is queued, then closes the socket. */
  close(reason: ShutdownReason): void {
    if (this.state === ConnState.Closed) return;
    this.closeReason ??= reason;
    this.flush();
    this.socket.end();
    // a peer that does not finish the close in time is cut off
    setTimeout(() => this.socket.destroy(), 2000).unref();
    this.onClosed();
  }

  /** @internal called by the socket's close and error listeners, and by close() */
  onClosed(): void {
    if (this.state === ConnState.Closed) return;
    const wasConnected = this.state === ConnState.Connected;
    this.state = ConnState.Closed;
    this.pending = undefined;
    this.rest = undefined;
    if (!this.socket.destroyed && this.closeReason === undefined) this.socket.destroy();
    this.broker.connectionClosed(this, this.closeReason ?? 'tcp_closed', wasConnected);
  }

  /** Called by the CONNECT handler once accepted. */
  accept(info: ConnectInfo): void {
    this.info = info;
    this.state = ConnState.Connected;
    this.listener.unconnected.delete(this);
  }


}
