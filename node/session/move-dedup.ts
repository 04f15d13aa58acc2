import { createHash } from 'node:crypto';
import type { Message } from '../../shared/message.js';

/** How a copy reached the session: straight from routing here, or from the node it left. */
export type CopyPath = 'direct' | 'moved';

/**
 * A session that just moved here from another node can get a message twice: a node that
 * knew the routes of both sent it here directly and to the old node, which sent it on
 * (node/cluster/moved-sessions.ts), or the old node had it already and it came in the
 * transfer. For a while after the move the session takes each message once (QoS 2 exactly
 * once). Messages carry no identifier across the cluster, so a message is known by its
 * publisher, the time the broker accepted it, its topic and a digest of its payload.
 *
 * Copies are counted per path, and one is taken only when its path has brought more of
 * that key than the other path: each message comes at most once each way, so two alike
 * on one path (the same publisher, millisecond, topic and payload, or a message matching two
 * MQTT 3 subscriptions) are two messages and both are taken; only a copy that the other
 * path already brought is dropped. What the old node had (the transfer, and what it saw
 * since its own move, SessionTransfer.recent) counts as the moved path.
 */
export class MoveDedup {
  private readonly direct = new Map<string, number>();
  private readonly moved = new Map<string, number>();

  /** `until`: epoch ms after which no copy from an old node can come any more */
  constructor(
    readonly until: number,
    seen: Iterable<string> = [],
  ) {
    for (const k of seen) this.moved.set(k, (this.moved.get(k) ?? 0) + 1);
  }

  /** Whether this copy of `msg` is one the session has not had (false: drop it). */
  first(msg: Message, path: CopyPath = 'direct'): boolean {
    const key = `${msg.from}\u0000${msg.timestamp}\u0000${msg.topic}\u0000${createHash('sha1').update(msg.payload).digest('base64')}`;
    const mine = path === 'direct' ? this.direct : this.moved;
    const other = path === 'direct' ? this.moved : this.direct;
    const n = (mine.get(key) ?? 0) + 1;
    mine.set(key, n);
    return n > (other.get(key) ?? 0);
  }

  /** what the session took, a key once per message, for the transfer of a session that moves on again */
  keys(): string[] {
    const out: string[] = [];
    for (const k of new Set([...this.direct.keys(), ...this.moved.keys()])) {
      const n = Math.max(this.direct.get(k) ?? 0, this.moved.get(k) ?? 0);
      for (let i = 0; i < n; i++) out.push(k);
    }
    return out;
  }
}
