import type { SessionTransfer } from '../../shared/api/session.js';
import type { QoS } from '../../shared/message.js';
import { decodeMessage, encodeMessage } from '../../shared/cluster/message-codec.js';
import type { Config } from '../../shared/config.js';
import { MoveDedup } from '../session/move-dedup.js';
import type { Session } from '../session/session.js';
import type { SubOptions } from '../router/router.js';

/** What rebuilding a transferred session needs of the node. */
export interface SessionImportHost {
  readonly cfg: Config;
  subscribe(session: Session, topic: string, opts: SubOptions): unknown;
}

/**
 * A persistent session moving between nodes on takeover [MQTT-3.1.2-4]: its subscriptions
 * and the messages still owed to the client (unacknowledged ones first, under their packet
 * identifiers, then the queue), and the incoming QoS 2 identifiers awaiting PUBREL: the
 * client resumes as if it had reconnected to the same node [MQTT-4.4.0-1].
 */
export function exportSession(s: Session): SessionTransfer {
  return {
    clientid: s.clientId,
    createdAt: s.createdAt,
    expiryInterval: s.expiryInterval,
    subscriptions: [...s.subscriptions].map(([topic, o]) => ({ topic, qos: o.qos, nl: o.nl, rap: o.rap, rh: o.rh, ...(o.subId !== undefined ? { subId: o.subId } : {}) })),
    messages: s.pendingMessages().map((p) => ({
      msg: Buffer.from(encodeMessage(p.msg)).toString('base64'),
      qos: p.qos,
      retain: p.retain,
      ...(p.opts?.subId !== undefined ? { subId: p.opts.subId } : {}),
      ...(p.opts?.subIds !== undefined ? { subIds: p.opts.subIds } : {}),
      ...(p.id !== undefined ? { id: p.id, released: p.released === true } : {}),
    })),
    awaitingRel: [...s.awaitingRel.keys()],
    ...(s.moveDedup !== undefined && s.moveDedup.until > Date.now() ? { recent: s.moveDedup.keys() } : {}),
  };
}

/** Rebuilds a transferred session into a fresh local one (subscriptions first, so routes exist). */
export function importSession(b: SessionImportHost, s: Session, t: SessionTransfer): void {
  s.createdAt = t.createdAt;
  for (const sub of t.subscriptions) {
    const opts: SubOptions = { qos: sub.qos as QoS, nl: sub.nl, rap: sub.rap, rh: sub.rh as 0 | 1 | 2, subId: sub.subId, share: undefined };
    b.subscribe(s, sub.topic, opts);
  }
  const now = Date.now();
  // the old node sends on what reaches it for a grace after its routes go (moved-sessions.ts):
  // a copy of what came in the transfer, or of what the session saw on its last node, is dropped
  const dedup = (s.moveDedup = new MoveDedup(now + 3 * b.cfg.sessionMoveGraceMs, t.recent));
  for (const m of t.messages) {
    const opts: SubOptions | undefined = m.subId === undefined ? undefined : { qos: m.qos as QoS, nl: false, rap: false, rh: 0, subId: m.subId, subIds: m.subIds, share: undefined };
    const msg = decodeMessage(Buffer.from(m.msg, 'base64'));
    dedup.first(msg);
    s.enqueueTransferred({ msg, qos: m.qos as QoS, retain: m.retain, opts }, m.id, m.released === true);
  }
  for (const id of t.awaitingRel ?? []) void s.addAwaitingRel(id, now);
}
