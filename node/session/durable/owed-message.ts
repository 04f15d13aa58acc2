import type { Message, QoS } from '../../../shared/message.js';
import { decodeMessage, encodedSizeBound, encodeMessageInto } from '../../../shared/cluster/message-codec.js';

/** A message owed to a session as the store keeps it: how it is to be sent, and the message. */
export interface OwedMessage {
  msg: Message;
  qos: QoS;
  retain: boolean;
  /** the MQTT 5 Subscription Identifier it goes out with */
  subId: number | undefined;
}

/**
 *   u8  QoS it is sent at | retain << 2 | has subId << 3
 *   [u32 subscription identifier]
 *   the message, in the cluster wire encoding
 */
export function encodeOwed(o: OwedMessage): Uint8Array {
  const head = o.subId === undefined ? 1 : 5;
  const buf = Buffer.allocUnsafe(head + encodedSizeBound(o.msg));
  buf[0] = o.qos | (o.retain ? 4 : 0) | (o.subId === undefined ? 0 : 8);
  if (o.subId !== undefined) buf.writeUInt32BE(o.subId, 1);
  const end = encodeMessageInto(o.msg, buf, head);
  return buf.subarray(0, end);
}

/**
 * The copies one session got in one I/O turn, stored as one stream message (one JetStream
 * round trip for all of them): u32 length, encoded copy; repeated.
 */
export function encodeChunk(copies: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const c of copies) size += 4 + c.length;
  const out = Buffer.allocUnsafe(size);
  let p = 0;
  for (const c of copies) {
    out.writeUInt32BE(c.length, p);
    out.set(c, p + 4);
    p += 4 + c.length;
  }
  return out;
}

export function decodeChunk(data: Uint8Array): OwedMessage[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: OwedMessage[] = [];
  for (let p = 0; p + 4 <= buf.length; ) {
    const len = buf.readUInt32BE(p);
    out.push(decodeOwed(buf.subarray(p + 4, p + 4 + len)));
    p += 4 + len;
  }
  return out;
}

export function decodeOwed(data: Uint8Array): OwedMessage {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const f = buf[0]!;
  const hasSubId = (f & 8) !== 0;
  return {
    qos: (f & 3) as QoS,
    retain: (f & 4) !== 0,
    subId: hasSubId ? buf.readUInt32BE(1) : undefined,
    msg: decodeMessage(buf.subarray(hasSubId ? 5 : 1)),
  };
}
