import type { Duplex } from 'node:stream';
import type { AclCache } from '../access/acl-cache.js';
import type { AclSubject } from '../access/acl.js';
import { ConnState, type ClientConnection, type ConnectInfo, type ConnListener, type PacketHost } from '../core/ports.js';
import { metricIndex } from '../metrics/metrics.js';
import { FRAME_INCOMPLETE, FRAME_MALFORMED, MalformedPacketError, decodePacket, parsePublish, readFrame } from './codec.js';
import { handlePacket, handlePublish } from './handlers/index.js';
import { OutboundConnection } from './outbound.js';
import { bucketFor, parseBytesRateLimit, parsePublishRateLimit } from './rate-limits.js';
import type { TokenBucket } from '../core/token-bucket.js';
import { RC, type ShutdownReason } from './reason-codes.js';

export { ConnState, type ConnectInfo } from '../core/ports.js';

const M_BYTES_RECEIVED = metricIndex('bytes.received');
const M_PACKETS_RECEIVED = metricIndex('packets.received');
const M_PINGREQ = metricIndex('packets.pingreq.received');
const M_PINGRESP = metricIndex('packets.pingresp.sent');
const PINGRESP = Buffer.from([0xd0, 0x00]);

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

/**
 * One client connection (EMQX's channel): framing of the byte stream, dispatch to the
 * packet handlers, per-client counters and the connection's lifecycle. It is built in
 * layers of one class: outbox.ts (the write batcher) ← outbound.ts (encoding) ← this
 * (reading).
 */
export class Connection extends OutboundConnection implements AclSubject, ClientConnection {
  info: ConnectInfo | undefined = undefined;
  aclCache: AclCache | undefined = undefined;
  /** ms timestamp of the last packet received, for keepalive */
  lastRecv = Date.now();
  readonly openedAt = this.lastRecv;
  /** topic aliases the client set (inbound), created on first use */
  inAliases: Map<number, string> | undefined = undefined;

  // per-client counters of the read side (GET /api/v4/clients)
  recvOct = 0;
  recvCnt = 0;
  recvPkt = 0;
  recvMsg = 0;

  private rest: Buffer[] | undefined = undefined;
  private restBytes = 0;
  private held = false;
  /** reading is paused by throttle(): until the timer, or the drain callback registered (one at a time) */
  private throttled: NodeJS.Timeout | undefined = undefined;
  private drainAwaited = false;
  /** the rate limits (STARLING_PUBLISH_RATE_LIMIT, STARLING_BYTES_RATE_LIMIT), and reading paused until a bucket refills */
  private publishLimit: TokenBucket | undefined = undefined;
  private bytesLimit: TokenBucket | undefined;
  private rateWait: NodeJS.Timeout | undefined = undefined;
  // the last topic this client published to (see TopicCache)
  topicBytes: Buffer | undefined = undefined;
  topic = '';
  closeReason: ShutdownReason | undefined = undefined;

  constructor(
    broker: PacketHost,
    socket: Duplex,
    readonly listener: ConnListener,
    readonly peerHost: string,
    readonly peerPort: number,
    readonly certUsername: string | undefined = undefined,
  ) {
    super(broker, socket);
    this.bytesLimit = bucketFor(parseBytesRateLimit(broker.cfg.bytesRateLimit), this.openedAt);
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
    // over the bytes limit, this chunk waits too: it is handled once the bucket has refilled
    if (this.bytesLimit !== undefined) this.pauseFor(this.bytesLimit.take(this.lastRecv, chunk.length));
    let buf = chunk;
    if (this.rest) {
      // a packet spans chunks: collect until it is whole, then join once
      this.rest.push(chunk);
      this.restBytes += chunk.length;
      if (this.held || this.rateWait !== undefined) return;
      const need = this.neededBytes(this.rest[0]!.length >= 5 ? this.rest[0]! : Buffer.concat(this.rest));
      if (need > this.broker.cfg.maxPacketSize) return this.protocolError(RC.PACKET_TOO_LARGE, 'frame_too_large');
      if (need > 0 && this.restBytes < need) return;
      buf = Buffer.concat(this.rest, this.restBytes);
      this.rest = undefined;
      this.restBytes = 0;
    } else if (this.held || this.rateWait !== undefined) {
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
      if (this.held || this.rateWait !== undefined) break;
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
    this.continueReading();
  }

  /** Whether reading is paused by the publish rate limit (keepalive does not count the pause). */
  get rateLimited(): boolean {
    return this.rateWait !== undefined;
  }

  /**
   * A bucket of the rate limits is empty: nothing more is read (not even what is buffered
   * already) for `wait` ms, until it has refilled: back-pressure on the client, as EMQX
   * pauses the socket, and nothing is lost.
   */
  private pauseFor(wait: number): void {
    if (wait === 0 || this.rateWait !== undefined) return;
    this.socket.pause();
    this.rateWait = setTimeout(() => {
      this.rateWait = undefined;
      this.lastRecv = Date.now();
      this.continueReading();
    }, wait);
  }

  /** Reads again unless something still holds it back, handling what was kept meanwhile. */
  private continueReading(): void {
    if (this.state === ConnState.Closed || this.held || this.rateWait !== undefined) return;
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
    this.broker.onForwardsDrained(() => {
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
    if (!this.held && this.rateWait === undefined) this.socket.resume();
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
          if (this.publishLimit !== undefined) this.pauseFor(this.publishLimit.take(this.lastRecv));
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
    if (this.rateWait !== undefined) clearTimeout(this.rateWait);
    if (!this.socket.destroyed && this.closeReason === undefined) this.socket.destroy();
    this.broker.connectionClosed(this, this.closeReason ?? 'tcp_closed', wasConnected);
  }

  /** Called by the CONNECT handler once accepted. */
  accept(info: ConnectInfo): void {
    this.info = info;
    this.state = ConnState.Connected;
    this.publishLimit = bucketFor(parsePublishRateLimit(this.broker.cfg.publishRateLimit), Date.now());
    this.listener.connected(this);
  }
}
