import { createHash } from 'node:crypto';
import type { Message } from '../../shared/message.js';

/**
 * A session that just moved here from another node can get a message twice: a node that
 * knew the routes of both sent it here directly and to the old node, which sent it on
 * (node/cluster/moved-sessions.ts), or the old node had it already and it came in the
 * transfer. For a while after the move the session takes each message once (QoS 2 exactly
 * once). Messages carry no identifier across the cluster, so a message is known by its
 * publisher, the time the broker accepted it, its topic and a digest of its payload: in
 * that while, two alike (the same publisher, millisecond, topic and payload) come once,
 * and so does a message matching two MQTT 3 subscriptions of the session. What was seen
 * goes along when the session moves on again within it (SessionTransfer.recent).
 */
/** A message as known across the cluster (it carries no identifier): publisher, acceptance time, topic, payload digest. */
export function messageKey(msg: Message): string {
  return `${msg.from}\u0000${msg.timestamp}\u0000${msg.topic}\u0000${createHash('sha1').update(msg.payload).digest('base64')}`;
}

/** messages a dedup remembers at most, the oldest forgotten first: more than a session's queue and window hold */
const MAX_KEYS = 10_000;

export class MoveDedup {
  private readonly seen: Set<string>;

  /**
   * `until`: epoch ms after which no copy from an old node can come any more. `unsettled`: a
   * session opened while no takeover was possible, which may be live on another node too
   * (node/cluster/conflicts.ts).
   */
  constructor(
    public until: number,
    seen: Iterable<string> = [],
    readonly unsettled = false,
  ) {
    this.seen = new Set(seen);
  }

  /** The old node still sends on (a route change held up by a store outage): copies may come until `until` now. */
  extend(until: number): void {
    if (until > this.until) this.until = until;
  }

  /** No copy can come after `until` any more (a dedup opened without an end: conflicts.ts). */
  endBy(until: number): void {
    if (until < this.until) this.until = until;
  }

  /** Counts these as seen. */
  remember(keys: Iterable<string>): void {
    for (const k of keys) this.seen.add(k);
  }

  /** Whether this is the first copy of `msg` (false: drop it). */
  first(msg: Message): boolean {
    const key = messageKey(msg);
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    // (bounded: one kept open through an outage sees everything the session gets meanwhile)
    if (this.seen.size > MAX_KEYS) this.seen.delete(this.seen.values().next().value!);
    return true;
  }

  /** what was seen, for the transfer of a session that moves on again */
  keys(): string[] {
    return [...this.seen];
  }
}
