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
 * Each message comes at most once each way (and once more if it came in the transfer), so
 * copies are counted per way and the session keeps as many of a key as the most that any one
 * way (or the transfer, and what the session saw on its last node: SessionTransfer.recent)
 * brought: two alike coming one way (the same publisher, millisecond, topic and payload, or a
 * message matching two MQTT 3 subscriptions) are two messages and both are taken, and only a
 * copy of one it has already is dropped.
 */
export class MoveDedup {
  private readonly direct = new Map<string, number>();
  private readonly moved = new Map<string, number>();
  /** copies of each key the session has: taken here, or had before it moved here */
  private readonly kept = new Map<string, number>();

  /** `until`: epoch ms after which no copy from an old node can come any more */
  constructor(
    readonly until: number,
    seen: Iterable<string> = [],
  ) {
    for (const k of seen) this.kept.set(k, (this.kept.get(k) ?? 0) + 1);
  }

  /** A message that came in the transfer: the session has it. */
  had(msg: Message): void {
    const key = keyOf(msg);
    this.kept.set(key, (this.kept.get(key) ?? 0) + 1);
  }

  /** Whether this copy of `msg` is one the session has not had (false: drop it). */
  first(msg: Message, path: CopyPath = 'direct'): boolean {
    const key = keyOf(msg);
    const mine = path === 'direct' ? this.direct : this.moved;
    const n = (mine.get(key) ?? 0) + 1;
    mine.set(key, n);
    if (n <= (this.kept.get(key) ?? 0)) return false;
    this.kept.set(key, n);
    return true;
  }

  /** what the session has, a key once per message, for the transfer of a session that moves on again */
  keys(): string[] {
    const out: string[] = [];
    for (const [k, n] of this.kept) for (let i = 0; i < n; i++) out.push(k);
    return out;
  }
}

function keyOf(msg: Message): string {
  return `${msg.from}\u0000${msg.timestamp}\u0000${msg.topic}\u0000${createHash('sha1').update(msg.payload).digest('base64')}`;
}
