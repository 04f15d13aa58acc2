import { randomBytes } from 'node:crypto';
import type { Logger } from '../../../shared/logger.js';
import type { Message } from '../../../shared/message.js';
import { SessionJournal } from './journal.js';
import { decodeChunk, encodeChunk, encodeOwed, type OwedMessage } from './owed-message.js';
import { expired } from './record.js';
import { StoreFullError, type RecordEntry, type SessionRecord, type SessionStore } from './store.js';
import { ExpirySweep } from './expiry-sweep.js';
import { DurableWriter, type WriterEvents } from './writer.js';

/** What durable sessions need of their node. */
export interface DurableHost extends WriterEvents {
  readonly nodeName: string;
  readonly log: Logger;
  /** whether another node of the cluster is alive */
  isLive(node: string): boolean;
  /** whether this node holds the session now */
  holds(clientid: string): boolean;
  /** publishes a will of a session whose node is gone */
  publish(msg: Message): unknown;
  /**
   * Takes on a session whose node died (its record claimed for this node already), offline,
   * so that its subscriptions route here and messages queue for it until its client is back
   */
  adopt(clientid: string, deadNode: string): Promise<void>;
}

/** A stored session read back for a resume. */
export interface LoadedSession {
  entry: RecordEntry;
  /** the messages owed, in store order, with the seq of their batch and their place in it */
  messages: { seq: number; idx: number; owed: OwedMessage }[];
}

/**
 * Durable sessions (README "Durable sessions"): a persistent session's state kept in the
 * session store, so that a client whose node died resumes it on any other node. This is the
 * node's entry point to them: journals for sessions (journal.ts), the batched write path
 * (writer.ts), loading a session back, discarding one, and the expiry of sessions whose
 * node is gone (expiry-sweep.ts).
 */
export class DurableSessions {
  readonly writer: DurableWriter;
  private readonly sweep: ExpirySweep;

  constructor(
    readonly store: SessionStore,
    private readonly host: DurableHost,
    sweepMs: number,
  ) {
    this.writer = new DurableWriter(store, host, host.log);
    this.sweep = new ExpirySweep(store, host, sweepMs);
  }

  async start(): Promise<void> {
    await this.store.start();
    this.sweep.start();
  }

  async stop(): Promise<void> {
    this.sweep.stop();
    this.writer.close();
    await this.store.close();
  }

  /**
   * A node started again under the name of one that died takes back, offline, the stored
   * sessions whose record names it (as a survivor adopts them: lifecycle.ts adoptSession),
   * rather than a sweep or two later: their routes are back at once, and messages resent to
   * this node reach them. Returns how many.
   */
  async takeBackOwn(): Promise<number> {
    const self = this.host.nodeName;
    let n = 0;
    try {
      for (const clientid of await this.store.clientids()) {
        const e = await this.store.get(clientid);
        if (e === undefined || e.record.node !== self || this.host.holds(clientid) || expired(e.record, Date.now())) continue;
        const r = e.record;
        const next: SessionRecord = { ...r, disconnectedAt: r.disconnectedAt || Date.now(), movedFrom: { node: self, at: Date.now(), back: true } };
        if (!(await this.store.update(next, e.revision))) continue;
        await this.host.adopt(clientid, self);
        n++;
      }
    } catch (err) {
      // the sweep adopts what is left
      this.host.log.warn({ err: (err as Error).message, taken: n }, 'stored sessions of a former run under this name not all taken back');
    }
    if (n > 0) this.host.log.info({ sessions: n }, 'stored sessions of a former run under this name taken back');
    return n;
  }

  /** A journal for a session that starts being persistent here (a new incarnation). */
  journal(clientid: string, describe: (j: SessionJournal) => SessionRecord): SessionJournal {
    const j: SessionJournal = new SessionJournal(this.writer, clientid, randomBytes(6).toString('hex'), () => describe(j));
    return j;
  }

  /** The stored session of a clientid, with its messages (`withMessages`), unless there is none or it expired (then it is discarded). */
  async load(clientid: string, withMessages: boolean): Promise<LoadedSession | undefined> {
    // a CONNECT does not wait for NATS to come back (the client would time out): it starts afresh
    if (!this.store.connected) throw new Error('the durable session store is unreachable');
    const entry = await this.store.get(clientid);
    if (!entry) return undefined;
    if (expired(entry.record, Date.now())) {
      this.discardLoaded({ entry, messages: [] });
      return undefined;
    }
    const messages = withMessages ? await this.messagesOf(entry.record) : [];
    return { entry, messages };
  }

  private async messagesOf(r: SessionRecord): Promise<LoadedSession['messages']> {
    return (await this.store.messages(r.clientid, r.gen)).flatMap((m) => decodeChunk(m.data).map((owed, idx) => ({ seq: m.seq, idx, owed })));
  }

  /**
   * The stored sessions a dead node held (records naming it, or resumed from it lately),
   * for the forwards it never confirmed (node/cluster/unreachable-forwards.ts). Every record
   * is read: a node's death is rare, and the caller shares one read among its forwards.
   */
  async recordsOf(node: string): Promise<SessionRecord[]> {
    const out: SessionRecord[] = [];
    for (const clientid of await this.store.clientids()) {
      const e = await this.store.get(clientid);
      if (e !== undefined && (e.record.node === node || e.record.movedFrom?.node === node)) out.push(e.record);
    }
    return out;
  }

  /**
   * Stores a copy owed to a session of a dead node, straight into its incarnation's
   * messages (what its resume or adoption reads after claiming it). `id` makes a retry a
   * no-op. Resolves to the record as it is after the write: when another node claimed the
   * session meanwhile, it may have read the messages before this one came, and the caller
   * sends the copy there too.
   */
  async storeFor(r: SessionRecord, copy: OwedMessage, id: string): Promise<SessionRecord | undefined> {
    try {
      await this.store.append(r.clientid, r.gen, encodeChunk([encodeOwed(copy)]), id);
    } catch (err) {
      if (!(err instanceof StoreFullError)) throw err;
      this.host.full(r.clientid, err.message);
    }
    return (await this.store.get(r.clientid))?.record;
  }

  /** A journal continuing a loaded session's incarnation (its stored messages stay where they are). */
  resumed(loaded: LoadedSession, describe: (j: SessionJournal) => SessionRecord): SessionJournal {
    const r = loaded.entry.record;
    const j: SessionJournal = new SessionJournal(this.writer, r.clientid, r.gen, () => describe(j));
    j.movedFrom = r.movedFrom;
    return j;
  }

  /**
   * Claims a loaded session's record for `node` (conditional on its revision: of a client
   * resuming and a survivor adopting it at the same moment, one wins). False when it changed.
   */
  async claim(loaded: LoadedSession, node: string, connected: boolean): Promise<boolean> {
    const r = loaded.entry.record;
    // (where from and when, even from a node of the same name: unreachable-forwards.ts tells a claim by it)
    const next = { ...r, node, disconnectedAt: connected ? 0 : r.disconnectedAt || Date.now(), movedFrom: { node: r.node, at: Date.now() } };
    if (!(await this.store.update(next, loaded.entry.revision))) return false;
    const again = await this.store.get(r.clientid);
    if (!again || again.record.node !== node) return false;
    loaded.entry = again;
    // read again now that it is ours: a copy stored for it by the node of a forward its dead
    // node never confirmed (unreachable-forwards.ts) between the load and the claim is in it
    loaded.messages = await this.messagesOf(again.record);
    return true;
  }

  /**
   * The session ended here: its record (unless a newer incarnation wrote it meanwhile) and
   * its messages go. Not awaited: a new incarnation writes under another gen.
   */
  discard(j: SessionJournal): void {
    j.detached = true;
    const { clientid, gen } = j;
    const self = this.host.nodeName;
    void (async () => {
      const e = await this.store.get(clientid);
      // another node holding this incarnation now (it resumed it meanwhile) keeps it
      if (e && e.record.gen === gen && e.record.node !== self) return;
      if (e && e.record.gen === gen) await this.store.remove(clientid, e.revision);
      await this.store.purge(clientid, gen);
    })().catch((err: Error) => this.host.log.warn({ clientid, err: err.message }, 'durable session not removed'));
  }

  /** A stored session that is not resumed (clean start, or its state came from a live node): it goes, unless rewritten meanwhile. */
  discardLoaded(loaded: LoadedSession): void {
    const r = loaded.entry.record;
    this.store.remove(r.clientid, loaded.entry.revision).catch(() => {});
    this.dropIncarnation(r.clientid, r.gen);
  }

  /** An older incarnation's messages go (the session moved on, with its messages, under a new one). */
  dropIncarnation(clientid: string, gen: string): void {
    this.store.purge(clientid, gen).catch(() => {});
  }
}
