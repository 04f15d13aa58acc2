import { createHash } from 'node:crypto';
import type { Message } from '../../shared/message.js';

/**
 * A session that just moved here from another node can get a message twice: a node that
 * knew the routes of both sent it here directly and to the old node, which sent it on
 * (node/cluster/moved-sessions.ts). For a while after the move the session pairs what came
 * each way and keeps one copy of each pair (QoS 2 exactly once). Messages carry no
 * identifier across the cluster, so a message is known by its publisher, the time the
 * broker accepted it, its topic and a digest of its payload; counting copies per way keeps
 * a message published twice alike (or a copy per overlapping MQTT 3 subscription) intact.
 */
export class MoveDedup {
  private readonly direct = new Map<string, number>();
  private readonly viaOldNode = new Map<string, number>();

  /** `until`: epoch ms after which no copy from the old node can come any more */
  constructor(readonly until: number) {}

  /** Whether to deliver this copy (false: its twin came the other way already). */
  take(msg: Message, fromOldNode: boolean): boolean {
    const key = `${msg.from}\u0000${msg.timestamp}\u0000${msg.topic}\u0000${createHash('sha1').update(msg.payload).digest('base64')}`;
    const other = fromOldNode ? this.direct : this.viaOldNode;
    const twins = other.get(key);
    if (twins !== undefined) {
      if (twins > 1) other.set(key, twins - 1);
      else other.delete(key);
      return false;
    }
    const mine = fromOldNode ? this.viaOldNode : this.direct;
    mine.set(key, (mine.get(key) ?? 0) + 1);
    return true;
  }
}
