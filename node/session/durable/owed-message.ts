import type { Message, QoS } from '../../../shared/message.js';
import { decodeMessage, encodedSizeBound, encodeMessageInto } from '../../../shared/cluster/message-codec.js';

/** A message owed to a session as the store keeps it: how it is to be sent, and the message. */
export interface OwedMessage {
  msg: Message;
  qos: QoS;
  retain: boolean;
  /** the MQTT 5 Subscription Identifier it goes out with */
  subId: number | undefined;
  /** every identifier, when it matched several subscriptions of an MQTT 5 session (one copy [MQTT-3.3.4-4]) */
  subIds?: number[] | undefined;
}

/**
 *   u8  QoS it is sent at | retain << 2 | has subId << 3 | has several << 4
 *   [u32 subscription identifier]
 *   [u8 n, n × u32 every subscription identifier (has several)]
 *   the message, in the cluster wire encoding
 */
export function encodeOwed(o: OwedMessage): Uint8Array {
  const ids = o.subId !== undefined && o.subIds !== undefined && o.subIds.length > 1 ? o.subIds.slice(0, 255) : undefined;
  const head = (o.subId === undefined ? 1 : 5) + (ids === undefined ? 0 : 1 + 4 * ids.length);
  const buf = Buffer.allocUnsafe(head + encodedSizeBound(o.msg));
  buf[0] = o.qos | (o.retain ? 4 : 0) | (o.subId === undefined ? 0 : 8) | (ids === undefined ? 0 : 16);
  if (o.subId !== undefined) buf.writeUInt32BE(o.subId, 1);
  if (ids !== undefined) {
    buf[5] = ids.length;
    for (let i = 0; i < ids.length; i++) buf.writeUInt32BE(ids[i]!, 6 + 4 * i);
  }
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
  let p = hasSubId ? 5 : 1;
  let subIds: number[] | undefined;
  if (hasSubId && (f & 16) !== 0) {
    const n = buf[5]!;
    subIds = [];
    for (let i = 0; i < n; i++) subIds.push(buf.readUInt32BE(6 + 4 * i));
    p = 6 + 4 * n;
  }
  return {
    qos: (f & 3) as QoS,
    retain: (f & 4) !== 0,
    subId: hasSubId ? buf.readUInt32BE(1) : undefined,
    ...(subIds !== undefined ? { subIds } : {}),
    msg: decodeMessage(buf.subarray(p)),
  };
}
