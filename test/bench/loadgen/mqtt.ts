/**
 * Minimal MQTT 3.1.1 helpers for the load generator: packets are encoded once with
 * mqtt-packet and then reused as raw bytes, and incoming bytes are only scanned for
 * fixed headers, so per-message cost on the generator side stays tiny.
 */
import mqttPacket from 'mqtt-packet';

export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  SUBSCRIBE: 8,
  SUBACK: 9,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const;

export function connectPacket(clientId: string, keepalive = 300, clean = true): Buffer {
  return mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean, keepalive });
}

export function subscribePacket(topic: string, qos: 0 | 1, messageId = 1): Buffer {
  return mqttPacket.generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] });
}

/** One SUBSCRIBE carrying every filter of `topics` (its SUBACK: 4 + topics.length bytes). */
export function subscribeManyPacket(topics: string[], qos: 0 | 1, messageId = 1): Buffer {
  return mqttPacket.generate({ cmd: 'subscribe', messageId, subscriptions: topics.map((topic) => ({ topic, qos })) });
}

export function publishPacket(topic: string, payload: Buffer, qos: 0 | 1, messageId?: number): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic, payload, qos, retain: false, dup: false, messageId });
}

/** `count` copies of `packet` back to back: one write() then carries many messages. */
export function repeat(packet: Buffer, count: number): Buffer {
  const out = Buffer.allocUnsafe(packet.length * count);
  for (let i = 0; i < count; i++) packet.copy(out, i * packet.length);
  return out;
}

/**
 * QoS 1 PUBLISH packets for ids 1..65535, contiguous. Sending ids a..b is then a
 * zero-copy subarray, so the QoS 1 publisher never encodes or copies per message.
 */
export class Qos1Ring {
  readonly packetLen: number;
  readonly buf: Buffer;
  private next = 1; // next id to send

  constructor(topic: string, payload: Buffer) {
    const template = publishPacket(topic, payload, 1, 1);
    this.packetLen = template.length;
    this.buf = Buffer.allocUnsafe(template.length * 65535);
    // Packet id sits right after the topic: fixed header, 2-byte topic length, topic.
    const idOff = headerLength(template) + 2 + Buffer.byteLength(topic);
    for (let id = 1; id <= 65535; id++) {
      const off = (id - 1) * template.length;
      template.copy(this.buf, off);
      this.buf.writeUInt16BE(id, off + idOff);
    }
  }

  /** Buffers (one, or two across the wrap) holding the next `n` packets. */
  take(n: number): Buffer[] {
    const out: Buffer[] = [];
    while (n > 0) {
      const k = Math.min(n, 65536 - this.next);
      const start = (this.next - 1) * this.packetLen;
      out.push(this.buf.subarray(start, start + k * this.packetLen));
      this.next += k;
      if (this.next > 65535) this.next = 1;
      n -= k;
    }
    return out;
  }
}

/** Length of the fixed header (type byte + remaining-length varint) of a complete packet. */
function headerLength(p: Buffer): number {
  let i = 1;
  while (p[i]! & 0x80) i++;
  return i + 1;
}

/** PUBACKs for the given ids, one buffer so one write() acks a whole read. */
export function pubacks(ids: Uint16Array, n: number): Buffer {
  const out = Buffer.allocUnsafe(n * 4);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    out[o] = 0x40;
    out[o + 1] = 2;
    out[o + 2] = ids[i]! >> 8;
    out[o + 3] = ids[i]! & 0xff;
  }
  return out;
}

/**
 * Splits a byte stream into packets by their fixed header only. Packets here are small,
 * so a packet cut by a read boundary is simply copied into `partial` and completed from
 * the next chunk; everything else is looked at in place.
 *
 * `onPacket(type, flags, buf, bodyStart, end)` is called for every packet; the hot path
 * (QoS 0 subscriber) only bumps a counter in it.
 */
export type PacketHandler = (type: number, flags: number, buf: Buffer, bodyStart: number, end: number) => void;

export class Scanner {
  private partial: Buffer | null = null;

  constructor(private readonly onPacket: PacketHandler) {}

  feed(chunk: Buffer): void {
    let off = 0;
    // Complete a packet left over from the previous chunk.
    while (this.partial !== null) {
      const p: Buffer = this.partial;
      const total = packetTotal(p, 0, p.length);
      if (total < 0) {
        // Header itself incomplete: add one byte at a time (at most 4 times).
        if (off >= chunk.length) return;
        this.partial = Buffer.concat([p, chunk.subarray(off, off + 1)]);
        off++;
        continue;
      }
      const need = total - p.length;
      if (chunk.length - off < need) {
        this.partial = Buffer.concat([p, chunk.subarray(off)]);
        return;
      }
      const whole = need > 0 ? Buffer.concat([p, chunk.subarray(off, off + need)]) : p;
      off += need;
      this.partial = null;
      this.emit(whole, 0, total);
    }
    const len = chunk.length;
    while (off < len) {
      const total = packetTotal(chunk, off, len);
      if (total < 0 || off + total > len) {
        // Copy: the tail must outlive this chunk without pinning it.
        this.partial = Buffer.from(chunk.subarray(off));
        return;
      }
      this.emit(chunk, off, off + total);
      off += total;
    }
  }

  private emit(buf: Buffer, start: number, end: number): void {
    const b0 = buf[start]!;
    let i = start + 1;
    while (buf[i]! & 0x80) i++;
    this.onPacket(b0 >> 4, b0 & 0x0f, buf, i + 1, end);
  }
}

/** Total packet length starting at `off`, or -1 if the fixed header is not complete yet. */
function packetTotal(buf: Buffer, off: number, len: number): number {
  let mult = 1;
  let rl = 0;
  for (let i = off + 1; i < len && i <= off + 4; i++) {
    const b = buf[i]!;
    rl += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return i - off + 1 + rl;
    mult *= 128;
  }
  if (len - off > 4 && (buf[off + 4]! & 0x80)) throw new Error('malformed remaining length');
  return -1;
}
