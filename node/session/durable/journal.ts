import type { DurableWriter } from './writer.js';
import type { OwedMessage } from './owed-message.js';
import type { SessionRecord } from './store.js';

/** One message a persistent session owes its client, as the store has it. */
export interface JournalEntry {
  /** the store's seq of the batch holding it: 0 until the store acknowledged it, -1 when the store refused it */
  seq: number;
  /** its place in that batch */
  idx: number;
  /** acknowledged by the client (or dropped): the stored copy may go */
  done: boolean;
}

/**
 * A persistent session's side of the durable store: the messages it owes in store order
 * (the stored copies are trimmed below the oldest one still owed, which is cheaper than a
 * delete per message and right because a session acknowledges mostly in order), and its
 * outgoing QoS 2 messages between PUBREC and PUBCOMP. Clean sessions have none.
 */
/** completed QoS 2 messages a record names at most, and for how long */
const RECENTLY_COMPLETED_MAX = 32;
const RECENTLY_COMPLETED_MS = 10_000;

export class SessionJournal {
  /** owed entries in store order; those before `head` are finished */
  private entries: JournalEntry[] = [];
  private head = 0;
  /** the store holds nothing below this seq (what trim() last asked for) */
  trimmedTo = 0;
  /** outgoing QoS 2 packet id → its entry: PUBREC came, PUBREL owed until PUBCOMP */
  readonly released = new Map<number, JournalEntry>();
  /**
   * QoS 2 messages completed (PUBCOMP) whose copy may still be in the store (not trimmed
   * yet), with their packet id: the record keeps them among the released, so that a resume
   * before the trim sends PUBREL (which a client answers without delivering) rather than the
   * message again
   */
  readonly completedUntrimmed = new Map<JournalEntry, number>();
  /** the message keys (move-dedup.ts) of those completed QoS 2 messages */
  private readonly completedKeys = new Map<JournalEntry, string>();
  /**
   * Keys of QoS 2 messages completed and trimmed lately, newest last (the record keeps them
   * for a while: a node started again under this one's name is sent again what this one never
   * confirmed, and the session it takes back must know what it delivered)
   */
  private readonly recentlyCompleted: [string, number][] = [];
  /** a newer owner (another node, or a discard) has the session: nothing more is written */
  detached = false;
  /** SessionRecord.movedFrom, kept in the records written here while it is recent */
  movedFrom: { node: string; at: number; back?: true } | undefined = undefined;
  /** the writer's last chunk of this session being stored (the next one waits for it) */
  storing: Promise<void> | undefined = undefined;

  constructor(
    private readonly writer: DurableWriter,
    readonly clientid: string,
    readonly gen: string,
    /** the session's record as it stands now (read when the record is written) */
    readonly describe: () => SessionRecord,
  ) {}

  /** A QoS 1/2 message delivered or queued to the session: its copy is stored (the writer batches). */
  append(o: OwedMessage): JournalEntry {
    const e: JournalEntry = { seq: 0, idx: 0, done: false };
    this.entries.push(e);
    if (!this.detached) this.writer.append(this, e, o);
    else e.seq = -1;
    return e;
  }

  /** A message read back from the store on resume. */
  restored(seq: number, idx: number): JournalEntry {
    const e: JournalEntry = { seq, idx, done: false };
    this.entries.push(e);
    return e;
  }

  /** The client acknowledged it (PUBACK, PUBCOMP) or it was dropped. */
  done(e: JournalEntry | undefined): void {
    if (e === undefined || e.done) return;
    e.done = true;
    if (!this.detached) this.writer.trimLater(this);
  }

  /**
   * PUBREC for a QoS 2 message: the state "PUBREL owed for packet id X" is stored before
   * PUBREL goes out (the promise), so that a client that delivers on PUBREL is never sent
   * the message again under another packet id after a crash. The copy stays until PUBCOMP.
   * While the store is unreachable it resolves at once, as a publisher's acknowledgement
   * does: a QoS 2 flow held at PUBREL for the outage is lost when its client gives up and
   * starts a new session elsewhere (which takes no QoS 2 message already sent, conflicts.ts).
   */
  release(e: JournalEntry | undefined, id: number): Promise<void> {
    if (e === undefined || this.detached) return Promise.resolve();
    this.released.set(id, e);
    return this.writer.recordStored(this);
  }

  /** PUBCOMP: the QoS 2 exchange is over. */
  completed(id: number, e: JournalEntry | undefined, key: string): void {
    if (this.released.get(id) === e && e !== undefined) {
      this.released.delete(id);
      this.completedUntrimmed.set(e, id);
      this.completedKeys.set(e, key);
    }
    this.done(e);
  }

  /** The store dropped the copies below `seq`: completed QoS 2 messages among them leave the record. */
  trimmed(seq: number): void {
    let n = 0;
    const now = Date.now();
    for (const e of this.completedUntrimmed.keys()) {
      if (e.seq > 0 && e.seq < seq) {
        this.completedUntrimmed.delete(e);
        const key = this.completedKeys.get(e);
        this.completedKeys.delete(e);
        if (key !== undefined) this.recentlyCompleted.push([key, now]);
        n++;
      }
    }
    const r = this.recentlyCompleted;
    if (r.length > RECENTLY_COMPLETED_MAX) r.splice(0, r.length - RECENTLY_COMPLETED_MAX);
    if (n > 0) this.changed();
  }

  /** The keys of the QoS 2 messages completed lately: not trimmed yet, and trimmed in the last RECENTLY_COMPLETED_MS. */
  completedKeyList(): string[] {
    return [...this.completedKeys.values(), ...this.recentKeys()];
  }

  /** The keys of QoS 2 messages completed and trimmed in the last RECENTLY_COMPLETED_MS. */
  recentKeys(): string[] {
    const since = Date.now() - RECENTLY_COMPLETED_MS;
    return this.recentlyCompleted.filter(([, at]) => at >= since).map(([k]) => k);
  }

  /** [packet id, batch seq, place in it] of every outgoing QoS 2 message past PUBREC whose copy the store may hold. */
  releasedList(): [number, number, number][] {
    const out: [number, number, number][] = [];
    for (const [e, id] of this.completedUntrimmed) out.push([id, e.seq, e.idx]);
    for (const [id, e] of this.released) out.push([id, e.seq, e.idx]);
    return out;
  }

  /** The session's metadata changed (subscriptions, expiry, connection, awaiting PUBREL): the record is written (batched). */
  changed(): void {
    if (!this.detached) void this.writer.writeRecord(this);
  }

  /** As changed(); resolves once the record is stored, or at once while the store is unreachable. */
  recordStored(): Promise<void> {
    return this.detached ? Promise.resolve() : this.writer.recordStored(this);
  }

  /** The seq below which nothing is owed any more (0 when not known). */
  floor(): number {
    const es = this.entries;
    let last = 0;
    let i = this.head;
    while (i < es.length && es[i]!.done && es[i]!.seq !== 0) {
      if (es[i]!.seq > 0) last = es[i]!.seq;
      i++;
    }
    if (i > this.head) {
      this.head = i;
      // compact now and then: the array is not a queue
      if (this.head > 1024 && this.head * 2 > es.length) {
        this.entries = es.slice(this.head);
        this.head = 0;
      }
    }
    // a batch goes once all of it is done: the first entry still owed may share its seq
    const next = es[i];
    if (next !== undefined && next.seq > 0) return next.seq;
    return last > 0 ? last + 1 : 0;
  }
}
