/**
 * The bytes of a forward batch (docs/forwarding.md, "Wire format"): the batch header, the
 * entries, the frames inside them. Written straight into the sender's slab, read as views
 * into the NATS message.
 */
import { encodedSizeBound, encodeMessageInto } from '../../../shared/cluster/message-codec.js';
import type { ForwardPayload, ForwardTarget } from './transport.js';

const FLAG_SHARED = 1;
const FLAG_FILTER = 2;
const FLAG_GROUP = 4;
/** kind 'session': the clientid follows the group */
const FLAG_SESSION = 8;
const KNOWN_FLAGS = FLAG_SHARED | FLAG_FILTER | FLAG_GROUP | FLAG_SESSION;
const ROUTE_TARGET: ForwardTarget = Object.freeze({ kind: 'route' });

export const INSTANCE_ID_BYTES = 8;
/** a receiving run's id, in acknowledgements and probe answers */
export const RUN_ID_BYTES = 8;
/** instance id and floor in front of the entries of a batch */
export const BATCH_HEADER = INSTANCE_ID_BYTES + 8;
/** u32 length + u64 seq in front of each frame of a batch */
export const ENTRY_HEADER = 12;
const TWO_32 = 2 ** 32;
/** the body of a probe (docs/forwarding.md, "Probes"; the answer is the receiving run's id) */
export const EMPTY = new Uint8Array(0);

/** At least the size of the batch entry writeEntry() makes (strings counted at 3 bytes a UTF-16 unit). */
export function entryBound(target: ForwardTarget, payload: ForwardPayload): number {
  return (
    ENTRY_HEADER +
    1 +
    (target.filter !== undefined ? 4 + 3 * target.filter.length : 0) +
    (target.group !== undefined ? 4 + 3 * target.group.length : 0) +
    (target.clientid !== undefined ? 4 + 3 * target.clientid.length : 0) +
    (payload instanceof Uint8Array ? payload.length : encodedSizeBound(payload))
  );
}

/**
 * Writes a batch entry (u32 length, u64 seq, frame) at `at`, the message encoded in place;
 * `out` has entryBound() bytes there. Returns where it ends.
 */
export function writeEntry(out: Buffer, at: number, seq: number, target: ForwardTarget, payload: ForwardPayload): number {
  let p = at + ENTRY_HEADER;
  const { filter, group, clientid } = target;
  const session = target.kind === 'session' && clientid !== undefined;
  out[p++] = (target.kind === 'shared' ? FLAG_SHARED : 0) | (filter !== undefined ? FLAG_FILTER : 0) | (group !== undefined ? FLAG_GROUP : 0) | (session ? FLAG_SESSION : 0);
  if (filter !== undefined) p = writeString(out, p, filter);
  if (group !== undefined) p = writeString(out, p, group);
  if (session) p = writeString(out, p, clientid);
  if (payload instanceof Uint8Array) {
    out.set(payload, p);
    p += payload.length;
  } else {
    p = encodeMessageInto(payload, out, p);
  }
  writeU32(out, at, p - at - 4);
  writeU64(out, at + 4, seq);
  return p;
}

/** A u32 length and the UTF-8 of `s` at `p`; returns where it ends. */
function writeString(out: Buffer, p: number, s: string): number {
  const n = out.write(s, p + 4);
  out.writeUInt32BE(n, p);
  return p + 4 + n;
}

/** Buffer.writeUInt32BE without its checks (the callers' sizes are in range), for every entry. */
function writeU32(out: Buffer, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

/** A sequence number (below 2^53) as u64 BE: two u32, high first. */
export function writeU64(out: Buffer, at: number, v: number): void {
  writeU32(out, at, Math.floor(v / TWO_32));
  writeU32(out, at + 4, v % TWO_32);
}

export function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}

/** A reliable frame encoded on its own (it cannot go into a batch now): rare, so not pooled. */
export function standaloneEntry(seq: number, target: ForwardTarget, payload: ForwardPayload): Buffer {
  const out = Buffer.allocUnsafe(entryBound(target, payload));
  return out.subarray(0, writeEntry(out, 0, seq, target, payload));
}

/**
 * The frame in buf[start, end); throws on a frame it did not make. The message bytes are a
 * view into `buf`, not a copy: copying them cost ~250 ns a message (an ArrayBuffer each: 18%
 * of the receiving node's time on the cross-node bench), and the receiver copies what it
 * keeps. Each listener gets a NATS message of its own, so two never share bytes.
 */
export function readFrame(buf: Buffer, start: number, end: number): { target: ForwardTarget; encoded: Buffer } {
  if (end - start < 1) throw new Error('empty forward frame');
  const flags = buf[start]!;
  if (flags & ~KNOWN_FLAGS) throw new Error(`unknown forward frame flags ${flags}`);
  let at = start + 1;
  // nearly every frame is a plain route: one target object for all of them
  if (flags === 0) return { target: ROUTE_TARGET, encoded: buf.subarray(at, end) };
  const target: ForwardTarget = { kind: flags & FLAG_SESSION ? 'session' : flags & FLAG_SHARED ? 'shared' : 'route' };
  if (flags & FLAG_FILTER) {
    target.filter = readString(buf, at, end);
    at += 4 + buf.readUInt32BE(at);
  }
  if (flags & FLAG_GROUP) {
    target.group = readString(buf, at, end);
    at += 4 + buf.readUInt32BE(at);
  }
  if (flags & FLAG_SESSION) {
    target.clientid = readString(buf, at, end);
    at += 4 + buf.readUInt32BE(at);
  }
  return { target, encoded: buf.subarray(at, end) };
}

/** The string behind its u32 length at `at`, within `end`. */
function readString(buf: Buffer, at: number, end: number): string {
  if (at + 4 > end) throw new Error('truncated forward frame');
  const len = buf.readUInt32BE(at);
  if (at + 4 + len > end) throw new Error('truncated forward frame');
  return buf.toString('utf8', at + 4, at + 4 + len);
}
