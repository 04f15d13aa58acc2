import type { Logger } from '../../shared/logger.js';
import type { Message, QoS } from '../../shared/message.js';
import { decodeMessage } from '../../shared/cluster/message-codec.js';
import { parseShare, topicMatches } from '../../shared/topic.js';
import type { DurableSessions } from '../session/durable/durable-sessions.js';
import type { OwedMessage } from '../session/durable/owed-message.js';
import type { SessionRecord, StoredSubscription } from '../session/durable/store.js';
import type { Forwarder, UnreachableForward } from './forwarding/transport.js';

/** one read of a dead node's stored sessions serves its forwards for this long... */
const RECORDS_FRESH_MS = 2_000;
/** ...while it is alive: a read this recent began after the frames being taken were sent (probes.ts waits longer before it finds them unreachable) */
const RECORDS_SHARED_MS = 50;
/** how long a frame waits for the run started again under its dead node's name that took its session back (then it is stored) */
const WAIT_FOR_RUN_MS = 30_000;
/** a store write that fails (store away, a JetStream leader election) is tried again after this pause */
const RETRY_MS = 250;

/**
 * QoS 1/2 forwards whose node NATS found nobody listening for, and that it never confirmed
 * (docs/forwarding.md, "Unreachable nodes"):
 * - no persistent session of that node is owed one: given up, as without durable sessions
 *   (clean sessions die with their node);
 * - the node is alive by its heartbeat (changing NATS servers, or frozen): sent to it again;
 * - it is dead: each owed session's copy is stored straight into that session's stored
 *   messages, which its resume or adoption reads after claiming the record; a session claimed
 *   elsewhere meanwhile gets the copy sent there (it drops it if it restored it), and one taken
 *   back by a run started again under the dead node's name gets the frame sent to that run.
 * Only then is the publisher acknowledged.
 */
export class UnreachableForwards {
  private readonly records = new Map<string, { at: number; dead: boolean; read: Promise<SessionRecord[]> }>();
  private stopped = false;

  constructor(
    private readonly durable: DurableSessions,
    private readonly isLive: (node: string) => boolean,
    private readonly transport: Forwarder,
    private readonly log: Logger,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  readonly take = async (f: UnreachableForward): Promise<'stored' | 'again'> => {
    // a shared group's member died with its node: the group's other members are not chosen again here
    if (f.target.kind === 'shared') return 'stored';
    const msg = decodeMessage(f.encoded);
    const owed: [SessionRecord, OwedMessage][] = [];
    for (const r of await this.sessionsOf(f.node)) {
      if (f.target.kind === 'session' && r.clientid !== f.target.clientid) continue;
      const copy = owedCopy(r, msg);
      if (copy !== undefined) owed.push([r, copy]);
    }
    // no persistent session is owed it: given up at once, as without durable sessions (a
    // publisher is not held for the clean sessions of a node that is gone)
    if (owed.length === 0) return 'stored';
    if (this.isLive(f.node)) return 'again';
    let outcome: 'stored' | 'again' = 'stored';
    for (const [r, copy] of owed) if ((await this.storeFor(r, copy, msg, f)) === 'again') outcome = 'again';
    return outcome;
  };

  /**
   * Whether a stored session still names `node` as its holder and was not taken back by it
   * since `since` (a run started again under its name: durable-sessions.ts takeBackOwn), by a
   * fresh read.
   */
  async owns(node: string, since: number): Promise<boolean> {
    this.records.delete(node);
    return (await this.sessionsOf(node)).some((r) => r.node === node && !(r.movedFrom?.node === node && r.movedFrom.at >= since));
  }

  /**
   * The stored sessions of a node: one read shared by its forwards once it is dead (it
   * gets no new session then; one claimed away meanwhile is found by storeFor()). While it
   * is alive, the sessions it has change: frames found unreachable share a read only if it
   * began after they were sent (frames are found unreachable STALL_PROBE_MS after that).
   */
  private async sessionsOf(node: string): Promise<SessionRecord[]> {
    const now = Date.now();
    let c = this.records.get(node);
    const dead = !this.isLive(node);
    // (a read made while it was dead before it came back, or alive, is no read of it dead now)
    if (c === undefined || c.dead !== dead || now - c.at > (dead ? RECORDS_FRESH_MS : RECORDS_SHARED_MS)) {
      c = { at: now, dead, read: this.retrying(() => this.durable.recordsOf(node), node) };
      this.records.set(node, c);
      // failed reads are not kept
      c.read.catch(() => this.records.delete(node));
    }
    return c.read;
  }

  /**
   * The copy of a session of the dead node `f.node` is stored, or sent to where the session
   * is now. A claim (a resume, an adoption) names where it came from and when, and the
   * record is read before and after the write: a session claimed elsewhere gets the copy
   * sent there (it drops it if it restored it); one claimed between the two reads may have
   * read its stored messages before this copy, and gets it sent too. A session a run started
   * again under the dead node's name took back ('again'): the frame goes to that run, as to
   * any node, once it is seen alive here (for WAIT_FOR_RUN_MS at most: then it is stored).
   */
  private async storeFor(stale: SessionRecord, copy: OwedMessage, msg: Message, f: UnreachableForward): Promise<'stored' | 'again'> {
    const id = `${f.id}.${stale.clientid}`;
    const before = (await this.retrying(() => this.durable.store.get(stale.clientid), stale.clientid))?.record;
    // discarded, or a new incarnation: nobody is owed this copy any more
    if (before === undefined || before.gen !== stale.gen) return 'stored';
    let now = before;
    if (before.node === f.node && before.movedFrom?.back !== true) {
      now = (await this.retrying(() => this.durable.storeFor(before, copy, id), before.clientid)) ?? before;
      // not claimed since the read: whoever claims it reads the messages after, this one included
      if (now.gen !== before.gen || (now.node === before.node && now.movedFrom?.at === before.movedFrom?.at)) return 'stored';
    }
    if (now.node !== f.node) {
      await this.sendOn(now.node, now.clientid, f.encoded);
      return 'stored';
    }
    if (now.movedFrom?.back === true && Date.now() - msg.timestamp < WAIT_FOR_RUN_MS) return 'again';
    // no run of that name came up since (the take-back was by a former run that died too): stored
    if (now === before) await this.retrying(() => this.durable.storeFor(now, copy, id), now.clientid);
    return 'stored';
  }

  /** The copy goes to the node that resumed the session (which drops it if it restored it already). */
  private async sendOn(node: string, clientid: string, encoded: Uint8Array): Promise<void> {
    this.log.debug({ clientid, to: node }, 'a forward its dead node never confirmed sent to the node that resumed its session');
    if (this.transport.forward(node, { kind: 'session', clientid }, encoded, true)) await this.transport.flush(node).catch(() => {});
  }

  /** Retries `fn` until it succeeds (acknowledgements wait rather than lie), unless stopped. */
  private async retrying<T>(fn: () => Promise<T>, what: string): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (this.stopped) throw err;
        if (attempt === 1) this.log.warn({ for: what, err: (err as Error).message }, 'durable session store unavailable for a forward its dead node never confirmed; retrying');
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }
}

/**
 * What a stored session is owed of `msg`: one copy at the highest QoS of its matching
 * subscriptions (as the MQTT 5 one-copy rule gives; an MQTT 3 session with overlapping
 * subscriptions gets one copy here rather than one per subscription), none at QoS 0 (not
 * stored for persistent sessions either) or when No Local or the message's expiry refuse it.
 */
export function owedCopy(r: SessionRecord, msg: Message): OwedMessage | undefined {
  if (msg.expiresAt !== undefined && msg.expiresAt <= Date.now()) return undefined;
  let best: StoredSubscription | undefined;
  const ids: number[] = [];
  for (const s of r.subscriptions) {
    if (parseShare(s.topic) !== undefined || !topicMatches(s.topic, msg.topic)) continue;
    if (s.nl && msg.from === r.clientid) continue;
    if (best === undefined || s.qos > best.qos) best = s;
    if (s.subId !== undefined) ids.push(s.subId);
  }
  if (best === undefined) return undefined;
  const qos = Math.min(best.qos, msg.qos) as QoS;
  if (qos === 0) return undefined;
  return { msg, qos, retain: best.rap ? msg.retain : false, subId: best.subId ?? ids[0], ...(ids.length > 1 ? { subIds: ids } : {}) };
}
