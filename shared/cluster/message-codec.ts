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

export function encodeMessage(m: Message): Uint8Array {
  const topicLen = Buffer.byteLength(m.topic);
  const fromLen = Buffer.byteLength(m.from);
  const userLen = m.fromUsername !== undefined ? Buffer.byteLength(m.fromUsername) : -1;
  const props = m.properties ? propsJson(m.properties) : undefined;
  const size = 1 + 2 + topicLen + 2 + fromLen + (userLen >= 0 ? 2 + userLen : 0) + 8 + (m.expiresAt !== undefined ? 8 : 0) + (props ? 4 + props.length : 0) + m.payload.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = (m.retain ? F_RETAIN : 0) | (m.qos << 1) | (userLen >= 0 ? F_USERNAME : 0) | (m.expiresAt !== undefined ? F_EXPIRY : 0) | (props ? F_PROPS : 0);
  let p = 1;
  out.writeUInt16BE(topicLen, p);
  p += 2 + out.write(m.topic, p + 2);
  out.writeUInt16BE(fromLen, p);
  p += 2 + out.write(m.from, p + 2);
  if (userLen >= 0) {
    out.writeUInt16BE(userLen, p);
    p += 2 + out.write(m.fromUsername!, p + 2);
  }
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
  m.payload.copy(out, p);
  return out;
}

export function decodeMessage(bytes: Uint8Array): Message {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = buf[0]!;
  let p = 1;
  const str = (): string => {
    const len = buf.readUInt16BE(p);
    const s = buf.toString('utf8', p + 2, p + 2 + len);
    p += 2 + len;
    return s;
  };
  const topic = str();
  const from = str();
  const fromUsername = flags & F_USERNAME ? str() : undefined;
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
  return {
    topic,
    payload: Buffer.from(buf.subarray(p)), // a copy: the message outlives the frame it came in
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
