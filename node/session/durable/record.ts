import type { Message } from '../../../shared/message.js';
import { decodeMessage } from '../../../shared/cluster/message-codec.js';
import type { SessionRecord } from './store.js';

/** seconds: a session with this expiry interval never expires [MQTT-3.1.2-11] */
export const NEVER_EXPIRES = 0xffffffff;

/** Whether a session stopped at `disconnectedAt` has expired by `now` (every interval up to 0xFFFFFFFE holds). */
export function expired(r: SessionRecord, now: number): boolean {
  return r.disconnectedAt > 0 && r.expiryInterval !== NEVER_EXPIRES && r.disconnectedAt + r.expiryInterval * 1000 <= now;
}

/** A stored session's will, ready to publish at `now`. */
export function storedWillMessage(r: SessionRecord, now: number): Message | undefined {
  if (!r.will) return undefined;
  const m = decodeMessage(Buffer.from(r.will.msg, 'base64'));
  return { ...m, timestamp: now, expiresAt: r.will.expiry === undefined ? undefined : now + r.will.expiry * 1000 };
}
