import type { Message, MessageProperties, QoS } from '../message.js';

/**
 * The wire encoding of a Message between nodes (forwarding, retained store, session
 * transfer). Binary, because every forwarded message pays for it (JSON headers cost about
 * a microsecond each way, measured); only MQTT 5 properties, which are rare and varied,
 * travel as JSON. The payload bytes are copied once and never re-encoded.
 *
 *   u8  flags: bit 0 retain, bits 1-2 QoS, bit 3 username, bit 4 expiry, bit 5 properties
 *   u16 topic length, topic (UTF-8)
 *   u16 publisher clientid length, clientid
 *   [u16 username length, username]
 *   f64 timestamp (epoch ms)
 *   [f64 expiresAt (epoch ms)]
 *   [u32 properties length, properties as JSON with correlationData in base64]
 *   payload: the rest
 */
const F_RETAIN = 1;
const F_USERNAME = 8;
const F_EXPIRY = 16;
const F_PROPS = 32;

function propsJson(p: MessageProperties): Buffer {
  const { correlationData, ...rest } = p;
  return Buffer.from(JSON.stringify(correlationData ? { ...rest, correlationData: correlationData.toString('base64') } : rest));
}

// A size is asked for right before encoding the same message: the properties' JSON made for
// the one is kept for the other, and forgotten once encoded (the object could change later).
let lastProps: MessageProperties | undefined;
let lastPropsJson: Buffer | undefined;

function propsOf(m: Message): Buffer | undefined {
  const p = m.properties;
  if (p === undefined) return undefined;
  if (p !== lastProps) {
    lastPropsJson = propsJson(p);
    lastProps = p;
  }
  return lastPropsJson;
}

function takeProps(m: Message): Buffer | undefined {
  const json = propsOf(m);
  lastProps = lastPropsJson = undefined;
  return json;
}

/** bytes of the encoding other than the three strings, the properties and the payload */
function fixedSize(m: Message): number {
  return 1 + 2 + 2 + (m.fromUsername !== undefined ? 2 : 0) + 8 + (m.expiresAt !== undefined ? 8 : 0);
}

/**
 * At least the size of the message's encoding, without measuring its strings' UTF-8 (a UTF-16
 * code unit takes at most 3 bytes): what the forward batches reserve before encoding into them.
 */
export function encodedSizeBound(m: Message): number {
  const props = propsOf(m);
  return fixedSize(m) + 3 * (m.topic.length + m.from.length + (m.fromUsername?.length ?? 0)) + (props ? 4 + props.length : 0) + m.payload.length;
}

/**
 * Recently decoded short ASCII strings (topics, clientids), by a hash of their bytes: a node
 * receiving forwards decodes the same few strings over and over, and a hit (comparing the
 * bytes in JS) costs a fraction of making the string again (toString was 9% of the receiving
 * node's time on the cross-node bench), and lets the queued messages share it.
 */
const STRINGS = 256;
/** the longest string cached, or written byte by byte (writeUtf8) */
const STRING_MAX = 64;
const strings: (string | undefined)[] = new Array<string | undefined>(STRINGS).fill(undefined);
/** the UTF-8 of strings[i], made on first use by cachedUtf8() */
const stringBytes: (Buffer | undefined)[] = new Array<Buffer | undefined>(STRINGS).fill(undefined);

/** the slot of a string of `len` characters whose codes (bytes, for ASCII) are hashed by `h` */
function hashStep(h: number, c: number): number {
  return (Math.imul(h, 31) + c) | 0;
}

/**
 * The UTF-8 of `s`: for a string decodeMessage() returned from its cache (a forwarded
 * message's topic), bytes kept with it, so that each forwarded message does not encode its
 * topic again for the PUBLISH packets (Buffer.from was 5% of the receiving node's time).
 * The bytes are shared: never write into them.
 */
export function cachedUtf8(s: string): Buffer {
  const len = s.length;
  if (len <= STRING_MAX) {
    let h = len;
    for (let i = 0; i < len; i++) h = hashStep(h, s.charCodeAt(i));
    const slot = h & (STRINGS - 1);
    if (strings[slot] === s) return (stringBytes[slot] ??= Buffer.from(s, 'latin1'));
  }
  return Buffer.from(s, 'utf8');
}

/**
 * Writes `s` as UTF-8 at `at`; returns the bytes written. Short ASCII strings (topics,
 * clientids) are copied in JS: Buffer.write's call into C++ was 7% of the sending node's time
 * on the cross-node bench, for strings of ten or twenty characters.
 */
function writeUtf8(out: Buffer, s: string, at: number): number {
  const n = s.length;
  if (n <= STRING_MAX) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[at + i] = c;
    }
    if (i === n) return n;
  }
  return out.write(s, at);
}

/** Writes `s` behind its u16 length at `p`; returns where it ends. */
function writeStr16(out: Buffer, s: string, p: number): number {
  const n = writeUtf8(out, s, p + 2);
  out[p] = n >>> 8;
  out[p + 1] = n & 0xff;
  return p + 2 + n;
}

/** Writes the encoding at `at` into `out`, which must have encodedSizeBound(m) bytes from there; returns where it ends. */
export function encodeMessageInto(m: Message, out: Buffer, at: number): number {
  const props = takeProps(m);
  out[at] = (m.retain ? F_RETAIN : 0) | (m.qos << 1) | (m.fromUsername !== undefined ? F_USERNAME : 0) | (m.expiresAt !== undefined ? F_EXPIRY : 0) | (props ? F_PROPS : 0);
  let p = at + 1;
  // each string written behind the place of its length, which then goes in front
  p = writeStr16(out, m.topic, p);
  p = writeStr16(out, m.from, p);
  if (m.fromUsername !== undefined) p = writeStr16(out, m.fromUsername, p);
  out.writeDoubleBE(m.timestamp, p);
  p += 8;
  if (m.expiresAt !== undefined) {
    out.writeDoubleBE(m.expiresAt, p);
    p += 8;
  }
  if (props) {
    out.writeUInt32BE(props.length, p);
    p += 4 + props.copy(out, p + 4);
  }
  return p + m.payload.copy(out, p);
}

export function encodeMessage(m: Message): Uint8Array {
  const props = propsOf(m);
  const size = fixedSize(m) + Buffer.byteLength(m.topic) + Buffer.byteLength(m.from) + (m.fromUsername !== undefined ? Buffer.byteLength(m.fromUsername) : 0) + (props ? 4 + props.length : 0) + m.payload.length;
  const out = Buffer.allocUnsafe(size);
  encodeMessageInto(m, out, 0);
  return out;
}

/** A string behind its u16 length at `p`. */
function str16(buf: Buffer, p: number): string {
  const len = buf.readUInt16BE(p);
  const start = p + 2;
  const end = start + len;
  if (len > STRING_MAX || end > buf.length) return buf.toString('utf8', start, end);
  let h = len;
  for (let i = start; i < end; i++) h = hashStep(h, buf[i]!);
  const slot = h & (STRINGS - 1);
  const known = strings[slot];
  if (known !== undefined && known.length === len) {
    let i = 0;
    while (i < len && known.charCodeAt(i) === buf[start + i]) i++;
    if (i === len) return known;
  }
  const s = buf.toString('utf8', start, end);
  // only ASCII is kept: one byte a character, so comparing bytes with char codes is exact
  if (s.length === len) {
    strings[slot] = s;
    stringBytes[slot] = undefined;
  }
  return s;
}

/**
 * The inverse of encodeMessage. The payload is a copy (the message outlives the bytes it came
 * in), unless `copyPayload` is false: then a view, for a caller whose message is copied where
 * it is kept (the broker's detachPayload), like a PUBLISH's payload is a view into its socket read.
 */
export function decodeMessage(bytes: Uint8Array, copyPayload = true): Message {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = buf[0]!;
  let p = 1;
  const topic = str16(buf, p);
  p += 2 + buf.readUInt16BE(p);
  const from = str16(buf, p);
  p += 2 + buf.readUInt16BE(p);
  let fromUsername: string | undefined;
  if (flags & F_USERNAME) {
    fromUsername = str16(buf, p);
    p += 2 + buf.readUInt16BE(p);
  }
  const timestamp = buf.readDoubleBE(p);
  p += 8;
  let expiresAt: number | undefined;
  if (flags & F_EXPIRY) {
    expiresAt = buf.readDoubleBE(p);
    p += 8;
  }
  let properties: MessageProperties | undefined;
  if (flags & F_PROPS) {
    const len = buf.readUInt32BE(p);
    const { correlationData, ...rest } = JSON.parse(buf.toString('utf8', p + 4, p + 4 + len)) as Omit<MessageProperties, 'correlationData'> & { correlationData?: string };
    properties = correlationData !== undefined ? { ...rest, correlationData: Buffer.from(correlationData, 'base64') } : rest;
    p += 4 + len;
  }
  if (p > buf.length) throw new RangeError('truncated message');
  const payload = buf.subarray(p);
  return {
    topic,
    payload: copyPayload ? Buffer.from(payload) : payload,
    qos: ((flags >> 1) & 3) as QoS,
    retain: (flags & F_RETAIN) !== 0,
    from,
    fromUsername,
    timestamp,
    expiresAt,
    properties,
    sys: false,
  };
}
