import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { RegistryTable } from '../../shared/cluster/store.js';
import type { Broker } from '../broker.js';
import { MoveDedup, messageKey } from '../session/move-dedup.js';
import type { Session } from '../session/session.js';
import type { Transport } from './forwarding/transport.js';
import type { Membership } from './membership.js';
import type { MovedSessions } from './moved-sessions.js';

/** how one conflict ended for this node's session */
type Outcome = 'kept' | 'taken over' | 'unsettled';
/** registry lookups in flight at once when checking every local session */
const LOOKUP_BATCH = 500;

/**
 * A clientid live on two nodes: while Redis or NATS was away, a CONNECT could not take the
 * session over from the other node, so both kept theirs. When they return, the two nodes
 * settle it as a takeover would have: the newer connection stays, the other is taken over
 * (MQTT 5 DISCONNECT 0x8E) and the registry points to the one kept. What the session taken
 * over still owed its client goes to the one kept, as a move sends it on (moved-sessions.ts),
 * and the one kept, which took each message once since it opened (node/session/move-dedup.ts:
 * the two may both have got one), keeps doing so a while longer.
 *
 * Found twice over: after a store reconnect, re-registering this node's sessions reports
 * those registered elsewhere (resync.ts); after a transport reconnect, every local session
 * is looked up (a CONNECT elsewhere registered it there while the takeover RPC failed).
 */
/** What settling a conflict uses: the registry, the RPC to the other node, who is live. */
export interface ConflictDeps {
  store: RegistryTable;
  transport: Transport;
  membership: Membership;
  moved: MovedSessions;
  cfg: Config;
  log: Logger;
}

export class ClientConflicts {
  private readonly store: RegistryTable;
  private readonly transport: Transport;
  private readonly membership: Membership;
  private readonly moved: MovedSessions;
  private readonly cfg: Config;
  private readonly log: Logger;
  private stopped = false;

  constructor(
    private readonly b: Broker,
    deps: ConflictDeps,
  ) {
    ({ store: this.store, transport: this.transport, membership: this.membership, moved: this.moved, cfg: this.cfg, log: this.log } = deps);
  }

  private get self(): string {
    return this.b.nodeName;
  }

  /**
   * Settles each clientid also live on `prev` with that node. One the other node cannot be
   * asked about yet (its own NATS reconnect may come a moment later) is asked again each
   * heartbeat, for one heartbeat TTL; still unsettled then, the next reconnect retries.
   */
  async resolve(conflicts: { clientid: string; prev: string }[]): Promise<void> {
    if (conflicts.length === 0) return;
    const tally = { kept: 0, takenOver: 0, unsettled: 0 };
    const attempts = Math.max(2, Math.ceil(this.cfg.heartbeatTtlMs / this.cfg.heartbeatMs));
    let pending = conflicts;
    for (let attempt = 1; pending.length > 0 && !this.stopped; attempt++) {
      const outcomes = await Promise.all(pending.map((c) => this.settle(c.clientid, c.prev)));
      tally.kept += outcomes.filter((o) => o === 'kept').length;
      tally.takenOver += outcomes.filter((o) => o === 'taken over').length;
      pending = pending.filter((_, i) => outcomes[i] === 'unsettled');
      if (attempt >= attempts) break;
      if (pending.length > 0) await sleep(this.cfg.heartbeatMs, undefined, { ref: false });
    }
    tally.unsettled = pending.length;
    this.log.info(tally, 'clientids live on two nodes after an outage settled');
  }

  stop(): void {
    this.stopped = true;
  }

  /** Every local session registered on another live node is settled with it. */
  async checkRegistry(): Promise<void> {
    const ids = [...this.b.sessions.keys()];
    try {
      for (let i = 0; i < ids.length; i += LOOKUP_BATCH) {
        const batch = ids.slice(i, i + LOOKUP_BATCH);
        const owners = await Promise.all(batch.map((id) => this.store.lookupClient(id)));
        const conflicts = batch.flatMap((clientid, k) => {
          const prev = owners[k];
          return prev !== undefined && prev !== this.self ? [{ clientid, prev }] : [];
        });
        this.noConflict(batch, conflicts);
        await this.resolve(conflicts);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'registry check after a reconnect failed; the next reconnect retries');
    }
  }

  /**
   * The registry was found to point here for `ids` but those of `conflicts`: a session that
   * opened while no takeover was possible has no other to settle with, and stops taking
   * each message once (after a while: the other node's own check may still come).
   */
  noConflict(ids: readonly string[], conflicts: readonly { clientid: string }[]): void {
    const elsewhere = new Set(conflicts.map((c) => c.clientid));
    for (const id of ids) if (!elsewhere.has(id)) this.endDedup(this.b.sessions.get(id));
  }

  /** The other node asks (session.conflict): whether this node keeps its own connection (`takes`: the other's session takes what this one owed). */
  async answer(clientid: string, node: string, connectedAt: number, takes: boolean): Promise<{ kept: boolean; takes?: boolean }> {
    const s = this.b.sessions.get(clientid);
    if (!s) return { kept: false };
    if (!this.newer(s, node, connectedAt)) {
      this.log.debug({ clientid, keptOn: node }, 'clientid was live on two nodes: the newer connection is elsewhere');
      this.leave(s, node, takes);
      return { kept: false };
    }
    const mine = takesOwed(s);
    this.endDedup(s);
    await this.claim(clientid);
    return { kept: true, takes: mine };
  }

  private async settle(clientid: string, other: string): Promise<Outcome> {
    const s = this.b.sessions.get(clientid);
    if (!s) return 'taken over';
    if (!this.membership.isLive(other)) {
      await this.claim(clientid);
      return 'kept';
    }
    let kept: boolean;
    let takes: boolean | undefined;
    try {
      ({ kept, takes } = await this.transport.request(other, 'session.conflict', { clientid, node: this.self, connectedAt: connectedAt(s), takes: takesOwed(s) }, this.cfg.rpcTimeoutMs));
    } catch (err) {
      // NATS is away too: its reconnect checks the registry again
      this.log.debug({ clientid, other, err: (err as Error).message }, 'clientid live on two nodes; settling it failed');
      return 'unsettled';
    }
    const mine = this.b.sessions.get(clientid);
    if (kept || !mine) {
      this.log.debug({ clientid, keptOn: other }, 'clientid was live on two nodes: the newer connection is elsewhere');
      if (mine) this.leave(mine, other, takes === true);
      return 'taken over';
    }
    this.endDedup(mine);
    await this.claim(clientid);
    return 'kept';
  }

  /**
   * This node's session is taken over by the one kept on `keptOn`: what it still owes its
   * client is sent on there first ('session' forwards, taken once each there), then what
   * still comes here for it follows, as after a move (moved-sessions.ts). Not a QoS 2 message
   * already sent to the client: its client started a new session and may have it (QoS 2 at
   * most once rather than twice). When the one kept does not `take` (it was not opened while
   * no takeover was possible: a node hung past its TTL, running on, while this one adopted or
   * resumed its session from the store), only what this session got since it was restored
   * here: the stored copies the store gave it, the other may have delivered (accepted before
   * the other node stopped, at least a heartbeat TTL before the restore: the store's record
   * of a node is adopted or resumed from only once that node is dead).
   */
  private leave(s: Session, keptOn: string, takes: boolean): void {
    const since = takes ? 0 : s.restoredAt > 0 ? s.restoredAt - this.cfg.heartbeatTtlMs : undefined;
    if (since === undefined) return this.b.handOver(s, false);
    const owed = s.pendingMessages().filter((p) => !(p.qos === 2 && p.id !== undefined) && p.msg.timestamp >= since);
    const filters: string[] = [];
    for (const [topic, o] of s.subscriptions) if (o.share === undefined) filters.push(topic);
    const target = { kind: 'session', clientid: s.clientId } as const;
    for (const p of owed) this.transport.forward(keptOn, target, p.msg, p.qos > 0);
    this.moved.add(s.clientId, keptOn, filters);
    this.b.handOver(s, false);
    if (owed.length > 0) this.log.info({ clientid: s.clientId, keptOn, messages: owed.length }, 'clientid was live on two nodes: what its session here owed goes to the one kept');
  }

  /** A session kept: it takes each message once for three graces more (what the other one owed is on its way). */
  private endDedup(s: Session | undefined): void {
    s?.moveDedup?.endBy(Date.now() + 3 * this.cfg.sessionMoveGraceMs);
  }

  /**
   * This node was purged as dead and is about to write its routes and registrations again: a
   * session here may have been adopted by a survivor, which got what was published to both
   * meanwhile and sends what it owes on here once settled. Each takes one copy of every
   * message for three graces (a dedup already open is kept).
   */
  mayConflict(): void {
    const until = Date.now() + 3 * this.cfg.sessionMoveGraceMs;
    for (const s of this.b.sessions.values()) {
      // what it holds or completed lately counts as seen: the survivor may have a copy of it
      // (a forward this node never confirmed, stored for the session it adopted)
      const seen = [...s.pendingMessages().map((p) => messageKey(p.msg)), ...(s.journal?.completedKeyList() ?? [])];
      if (s.moveDedup === undefined) s.moveDedup = new MoveDedup(until, seen);
      else {
        s.moveDedup.extend(until);
        s.moveDedup.remember(seen);
      }
    }
  }

  /** Whether this node's connection is the newer one (a tie goes to the greater node name, the same answer on both sides). */
  private newer(s: Session, other: string, otherAt: number): boolean {
    const mine = connectedAt(s);
    return mine !== otherAt ? mine > otherAt : this.self > other;
  }

  /** The registry points here again (the other node's registration, if it came last, is replaced). */
  private async claim(clientid: string): Promise<void> {
    try {
      await this.store.registerClient(clientid, this.self);
    } catch (err) {
      this.log.debug({ clientid, err: (err as Error).message }, 'registry unavailable; registrations are written again on reconnect');
    }
  }
}

/** Whether `s` opened while no takeover was possible, and so takes what a session given up for it owed (lifecycle.ts). */
function takesOwed(s: Session): boolean {
  return s.moveDedup?.unsettled === true;
}

/** When the session's connection came (0 offline: any live connection is newer). */
function connectedAt(s: Session): number {
  return s.conn?.info?.connectedAt ?? 0;
}
