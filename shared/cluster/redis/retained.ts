/**
 * Retained messages on Redis (P = prefix, default 'starling'):
 *
 *   P:retained         hash     topic → wire-encoded message (binary).
 *   P:retained         channel  binary frame carrying the new value, so receivers need no
 *                               read-back (and cannot read back a later value out of order):
 *                               [1 byte: 1 = set, 0 = delete][4 bytes BE: topic byte length]
 *                               [topic UTF-8][value bytes, set only]. A delete of an absent
 *                               topic is not announced, as a route change that changes
 *                               nothing is not.
 *
 * A change is one Lua script doing it and its PUBLISH, so announcements come in order.
 */
import type { RetainedTable } from '../store.js';
import type { RedisConnection } from './connection.js';

// KEYS[1] retained hash; ARGV: topic, channel[, value] (no value: delete)
const SET_RETAINED = `
if ARGV[3] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  redis.call('PUBLISH', ARGV[2], struct.pack('>BI4', 1, #ARGV[1]) .. ARGV[1] .. ARGV[3])
elseif redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('PUBLISH', ARGV[2], struct.pack('>BI4', 0, #ARGV[1]) .. ARGV[1])
end
return 0`;

/** The script above, as RedisConnection.script() adds it. */
interface Scripts {
  starlingSetRetained(key: string, topic: string, channel: string, ...value: Buffer[]): Promise<unknown>;
}

export class RedisRetained implements RetainedTable {
  private readonly scripts: Scripts;
  private readonly key: string;
  private readonly channel: string;
  private readonly cbs: ((topic: string, encoded: Uint8Array | null) => void)[] = [];

  constructor(private readonly conn: RedisConnection) {
    this.key = `${conn.ns}retained`;
    this.channel = `${conn.ns}retained`;
    conn.script('starlingSetRetained', SET_RETAINED);
    this.scripts = conn.cmd as unknown as Scripts;
    conn.listen(this.channel, (message) => this.onMessage(message));
  }

  setRetained(topic: string, encoded: Uint8Array | null): Promise<void> {
    // Copied now: the caller may reuse its buffer before the command is written.
    const value = encoded === null ? [] : [Buffer.from(encoded)];
    return this.conn.call('setRetained', async () => {
      await this.scripts.starlingSetRetained(this.key, topic, this.channel, ...value);
    });
  }

  retained(): Promise<Map<string, Uint8Array>> {
    return this.conn.call('retained', async () => {
      const all = await this.conn.cmd.hgetallBuffer(this.key);
      const out = new Map<string, Uint8Array>();
      // Copies: the reply's buffers may be views into a larger socket chunk, kept alive by them.
      for (const [topic, value] of Object.entries(all)) out.set(topic, Buffer.from(value));
      return out;
    });
  }

  onRetainedChange(cb: (topic: string, encoded: Uint8Array | null) => void): void {
    this.cbs.push(cb);
  }

  private onMessage(message: Buffer): void {
    const decoded = decodeRetainedFrame(message);
    if (!decoded) return void this.conn.log?.warn({ bytes: message.length }, 'ignoring a malformed retained change');
    for (const cb of this.cbs) this.conn.safely('onRetainedChange', () => cb(decoded.topic, decoded.value));
  }
}

/** Decodes a P:retained message (see the top of this file). */
export function decodeRetainedFrame(frame: Buffer): { topic: string; value: Uint8Array | null } | undefined {
  if (frame.length < 5) return undefined;
  const flag = frame[0];
  const len = frame.readUInt32BE(1);
  if (5 + len > frame.length || (flag !== 0 && flag !== 1)) return undefined;
  const topic = frame.toString('utf8', 5, 5 + len);
  if (flag === 0) return frame.length === 5 + len ? { topic, value: null } : undefined;
  return { topic, value: Buffer.from(frame.subarray(5 + len)) };
}
