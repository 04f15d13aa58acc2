import type { Message, QoS } from '../../shared/message.js';
import { encodeMessage } from '../../shared/cluster/message-codec.js';
import type { SubOptions } from '../router/router.js';
import type { DurableSessions, LoadedSession } from './durable/durable-sessions.js';
import type { SessionJournal } from './durable/journal.js';
import type { SessionRecord, StoredWill } from './durable/store.js';
import type { Pending } from './mqueue.js';
import type { Session } from './session.js';
import { MoveDedup, messageKey } from './move-dedup.js';

import type { SessionImportHost } from '../cluster/session-transfer.js';

/** how long a resumed session's record names the node it came from (longer than any forward to a dead node is held) */
const MOVED_FROM_KEPT_MS = 60_000;

/** The record's `completed`, when there are any. */
function completedLately(j: SessionJournal): { completed?: string[] } {
  const keys = j.recentKeys();
  return keys.length > 0 ? { completed: keys } : {};
}

/** A session's record as the durable store keeps it, read off the session now. */
function describe(s: Session, node: string, j: SessionJournal): SessionRecord {
  return {
    clientid: s.clientId,
    node,
    gen: j.gen,
    createdAt: s.createdAt,
    expiryInterval: s.expiryInterval,
    disconnectedAt: s.conn ? 0 : s.disconnectedAt,
    subscriptions: [...s.subscriptions].map(([topic, o]) => ({ topic, qos: o.qos, nl: o.nl, rap: o.rap, rh: o.rh, ...(o.subId !== undefined ? { subId: o.subId } : {}) })),
    ...(s.storedWill ? { will: s.storedWill } : {}),
    awaitingRel: [...s.awaitingRel.keys()],
    released: j.releasedList(),
    ...completedLately(j),
    ...(j.movedFrom !== undefined && Date.now() - j.movedFrom.at < MOVED_FROM_KEPT_MS ? { movedFrom: j.movedFrom } : {}),
  };
}

/** A will as a durable session keeps it. */
export function storedWill(will: Message, delay: number, expiry: number | undefined): StoredWill {
  return { msg: Buffer.from(encodeMessage(will)).toString('base64'), delay, ...(expiry !== undefined ? { expiry } : {}) };
}

/** Makes a session durable with a new incarnation in the store (its record is written). */
export function attachJournal(durable: DurableSessions, s: Session, node: string): void {
  s.journal = durable.journal(s.clientId, (j) => describe(s, node, j));
  s.journal.changed();
}

/**
 * Rebuilds a session from the durable store after its node died [MQTT-4.4.0-1]: its
 * subscriptions, incoming QoS 2 packet ids awaiting PUBREL, outgoing QoS 2 messages the
 * client had PUBREC'd (PUBREL is resent under the same packet id), and every other message
 * owed, in store order, queued to be sent again.
 */
export function restoreSession(host: SessionImportHost, durable: DurableSessions, s: Session, loaded: LoadedSession, node: string): void {
  const r = loaded.entry.record;
  s.createdAt = r.createdAt;
  s.restoredAt = Date.now();
  const j = durable.resumed(loaded, (jj) => describe(s, node, jj));
  s.journal = j;
  for (const sub of r.subscriptions) {
    const opts: SubOptions = { qos: sub.qos as QoS, nl: sub.nl, rap: sub.rap, rh: sub.rh as 0 | 1 | 2, subId: sub.subId, share: undefined };
    host.subscribe(s, sub.topic, opts);
  }
  const now = Date.now();
  for (const id of r.awaitingRel) void s.addAwaitingRel(id, now);
  // a packet id is reused only after PUBCOMP: of two entries with one id, the older is complete
  const place = (seq: number, idx: number): number => seq * 4096 + idx;
  const newest = new Map<number, number>();
  for (const [id, seq, idx] of r.released) if ((newest.get(id) ?? -1) < place(seq, idx)) newest.set(id, place(seq, idx));
  const releasedAt = new Map(r.released.map(([id, seq, idx]) => [place(seq, idx), newest.get(id) === place(seq, idx) ? id : -1]));
  // a forward its dead node never confirmed was stored for it by the sending node
  // (unreachable-forwards.ts) and may be stored already by the dead node too: one copy of each
  const seen = new Set<string>(r.completed);
  for (const m of loaded.messages) {
    const o = m.owed;
    const rec = j.restored(m.seq, m.idx);
    const key = messageKey(o.msg);
    if (seen.has(key)) {
      j.done(rec);
      continue;
    }
    seen.add(key);
    const opts: SubOptions | undefined = o.subId === undefined ? undefined : { qos: o.qos, nl: false, rap: false, rh: 0, subId: o.subId, subIds: o.subIds, share: undefined };
    const p: Pending = { msg: o.msg, qos: o.qos, retain: o.retain, opts, rec };
    const id = releasedAt.get(place(m.seq, m.idx));
    if (id === -1) {
      j.done(rec);
    } else if (id !== undefined) {
      j.released.set(id, rec);
      s.restoreInflight(id, p, true);
    } else {
      s.enqueueRestored(p);
    }
  }
  // such a copy stored after the claim's read is sent here by the node that stored it
  s.moveDedup = new MoveDedup(now + 3 * host.cfg.sessionMoveGraceMs, seen);
  j.changed();
}
