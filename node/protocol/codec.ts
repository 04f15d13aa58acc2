import { isUtf8 } from 'node:buffer';
import * as mqttPacket from 'mqtt-packet';
import type { Packet, IPublishPacket } from 'mqtt-packet';
import type { QoS } from '../../shared/message.js';

/**
 * Framing and decoding of MQTT packets.
 *
 * The connection splits its byte stream into whole packets itself (fixed header and
 * remaining length), then decodes each one:
 * - PUBLISH without MQTT 5 properties takes a hand-written fast path (`parsePublish`):
 *   mqtt-packet's streaming parser costs ~1.3 µs per small PUBLISH (measured), which at
 *   100k msg/s is a large share of a core; the fast path produces the same packet shape
 *   and is round-trip tested against mqtt-packet (test/unit/codec.test.ts).
 * - everything else goes through mqtt-packet. Because it is always handed exactly one
 *   whole packet, a single parser per protocol version serves every connection, which
 *   keeps idle connections small.
 */

export type ProtocolVersion = 3 | 4 | 5;

export const FRAME_INCOMPLETE = -1;
export const FRAME_MALFORMED = -2;

/** Remaining length of the frame starting at `off`, left in `frame.length`; returns the header length or a FRAME_* code. */
export function readFrame(buf: Buffer, off: number, frame: { length: number }): number {
  let mult = 1;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    if (off + i >= buf.length) return FRAME_INCOMPLETE;
    const b = buf[off + i]!;
    value += (b & 127) * mult;
    if ((b & 128) === 0) {
      frame.length = value;
      return i + 1;
    }
    mult *= 128;
  }
  return FRAME_MALFORMED;
}

type ParseResult = { packet: Packet | undefined; error: Error | undefined };
const result: ParseResult = { packet: undefined, error: undefined };

function makeParser(): mqttPacket.Parser {
  const p = mqttPacket.parser({});
  p.on('packet', (pkt: Packet) => (result.packet = pkt));
  p.on('error', (err: Error) => (result.error = err));
  checkStrings(p);
  return p;
}

type ParserInternals = { _parseString(): string | null; _list: { slice(start: number, end: number): Buffer }; _pos: number };

/**
 * mqtt-packet decodes every UTF-8 string (client id, username, will topic, filters,
 * properties...) with Buffer#toString, which turns ill-formed UTF-8 into U+FFFD and keeps
 * U+0000: either makes the packet malformed [MQTT-1.5.4-1, MQTT-1.5.4-2]. Each string it
 * reads is checked; only one holding U+FFFD needs its bytes looked at again.
 */
function checkStrings(p: mqttPacket.Parser): void {
  const q = p as unknown as ParserInternals;
  const parseString = q._parseString;
  q._parseString = function (this: ParserInternals): string | null {
    const start = this._pos + 2; // after the length
    const s = parseString.call(this);
    if (s === null) return s;
    if (s.includes('\u0000')) throw new MalformedPacketError('String holds U+0000');
    if (s.includes('\ufffd') && !isUtf8(this._list.slice(start, this._pos))) throw new MalformedPacketError('String is not well-formed UTF-8');
    return s;
  };
}

const parser = makeParser();
// mqtt-packet would otherwise build a 65,536-Buffer cache of encoded numbers (~7 MB) on first
// use; the packets it still encodes here (CONNACK, SUBACK, ...) are rare enough to do without
(mqttPacket.writeToStream as unknown as { cacheNumbers: boolean }).cacheNumbers = false;
const settings: Record<ProtocolVersion, { protocolVersion: ProtocolVersion }> = {
  3: { protocolVersion: 3 },
  4: { protocolVersion: 4 },
  5: { protocolVersion: 5 },
};

/** Decodes one whole packet with mqtt-packet. Throws on a malformed packet. */
export function decodePacket(bytes: Buffer, version: ProtocolVersion): Packet {
  result.packet = undefined;
  result.error = undefined;
  // the parser reads the version from its settings; CONNECT sets its own
  (parser as unknown as { settings: object }).settings = settings[version];
  let left: number;
  try {
    left = parser.parse(bytes);
  } catch (err) {
    resetParser();
    throw err;
  }
  const { packet, error } = result;
  if (error || !packet || left !== 0) {
    // mqtt-packet's own reset after an error keeps its read position (`_pos`) and a
    // packet cut short stays buffered: either would break every later packet of every
    // connection sharing this parser
    resetParser();
    throw error ?? new Error('Malformed packet');
  }
  // mqtt-packet reports a packet identifier cut short as -1 instead of failing
  if ((packet as { messageId?: number }).messageId === -1) throw new Error('Cannot parse messageId');
  return packet;
}

function resetParser(): void {
  const p = parser as unknown as { _resetState(): void; _pos: number };
  p._resetState();
  p._pos = 0;
}

export class MalformedPacketError extends Error {}

/**
 * The last topic a connection published to, as bytes and string: publishers mostly repeat
 * their topic, and reusing the string saves its decoding and lets V8 reuse its hash in
 * every Map lookup on the way (match cache, ACL cache).
 */
export interface TopicCache {
  topicBytes: Buffer | undefined;
  topic: string;
}

function sameBytes(a: Buffer, buf: Buffer, p: number, len: number): boolean {
  if (a.length !== len) return false;
  if (len > 48) return buf.compare(a, 0, len, p, p + len) === 0;
  for (let i = 0; i < len; i++) if (a[i] !== buf[p + i]) return false;
  return true;
}

/**
 * Fast path for PUBLISH. Returns undefined when the packet carries MQTT 5 properties
 * (the caller then uses decodePacket), throws MalformedPacketError on bad input.
 */
export function parsePublish(buf: Buffer, start: number, headerLen: number, remaining: number, v5: boolean, cache: TopicCache): IPublishPacket | undefined {
  const b0 = buf[start]!;
  const qos = (b0 >> 1) & 3;
  if (qos === 3) throw new MalformedPacketError('Packet must not have both QoS bits set to 1');
  let p = start + headerLen;
  const end = p + remaining;
  if (remaining < 2) throw new MalformedPacketError('Cannot parse topic');
  const tl = (buf[p]! << 8) | buf[p + 1]!;
  p += 2;
  if (p + tl > end) throw new MalformedPacketError('Cannot parse topic');
  let topic: string;
  if (cache.topicBytes !== undefined && sameBytes(cache.topicBytes, buf, p, tl)) {
    topic = cache.topic;
  } else {
    let ascii = true;
    for (let i = p; i < p + tl; i++) {
      if (buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii && !isUtf8(buf.subarray(p, p + tl))) throw new MalformedPacketError('Topic is not valid UTF-8');
    topic = buf.toString(ascii ? 'latin1' : 'utf8', p, p + tl);
    if (tl <= 256) {
      cache.topicBytes = Buffer.from(buf.subarray(p, p + tl));
      cache.topic = topic;
    }
  }
  p += tl;
  let messageId: number | undefined;
  if (qos > 0) {
    if (p + 2 > end) throw new MalformedPacketError('Cannot parse messageId');
    messageId = (buf[p]! << 8) | buf[p + 1]!;
    p += 2;
  }
  if (v5) {
    if (p >= end) throw new MalformedPacketError('Cannot parse properties');
    if (buf[p] !== 0) return undefined;
    p += 1;
  }
  return {
    cmd: 'publish',
    topic,
    payload: buf.subarray(p, end),
    qos: qos as QoS,
    retain: (b0 & 1) === 1,
    dup: (b0 & 8) === 8,
    messageId,
  };
}

export function encodePacket(packet: Packet, version: ProtocolVersion): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: version });
}

function varintLength(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

function writeVarint(buf: Buffer, off: number, n: number): number {
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 128;
    buf[off++] = b;
  } while (n > 0);
  return off;
}

/**
 * Encodes one message for many subscribers: the bytes that do not depend on the
 * subscriber (fixed header, topic, payload) are built once per variant (QoS, retain flag,
 * protocol level) and reused; only the packet identifier is written per delivery.
 * Used for PUBLISH packets without MQTT 5 properties; others go through mqtt-packet.
 */
export class PublishEncoder {
  private readonly variants: (Buffer | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  constructor(
    readonly topic: string,
    readonly payload: Buffer,
    /** the topic's UTF-8, when the caller has it already (made from `topic` otherwise) */
    private topicBytes?: Buffer,
  ) {}

  /** The whole packet; for QoS 1/2 the packet identifier bytes are left zero, to be patched by `withId`. */
  encode(qos: QoS, retain: boolean, v5: boolean): Buffer {
    const key = qos * 4 + (retain ? 2 : 0) + (v5 ? 1 : 0);
    let buf = this.variants[key];
    if (buf) return buf;
    const topic = (this.topicBytes ??= Buffer.from(this.topic, 'utf8'));
    const remaining = 2 + topic.length + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + this.payload.length;
    buf = Buffer.allocUnsafe(1 + varintLength(remaining) + remaining);
    buf[0] = 0x30 | (qos << 1) | (retain ? 1 : 0);
    let p = writeVarint(buf, 1, remaining);
    buf.writeUInt16BE(topic.length, p);
    p += 2;
    p += topic.copy(buf, p);
    if (qos > 0) {
      buf[p++] = 0;
      buf[p++] = 0;
    }
    if (v5) buf[p++] = 0;
    this.payload.copy(buf, p);
    this.variants[key] = buf;
    return buf;
  }

  /** A copy of the QoS 1/2 packet with its identifier (and DUP flag) set. */
  withId(qos: QoS, retain: boolean, v5: boolean, messageId: number, dup: boolean): Buffer {
    const base = this.encode(qos, retain, v5);
    const out = Buffer.allocUnsafe(base.length);
    base.copy(out);
    if (dup) out[0]! |= 8;
    const idAt = base.length - this.payload.length - (v5 ? 1 : 0) - 2;
    out[idAt] = messageId >> 8;
    out[idAt + 1] = messageId & 0xff;
    return out;
  }
}
