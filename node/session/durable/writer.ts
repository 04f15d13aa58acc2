import { randomBytes } from 'node:crypto';
import type { Logger } from '../../../shared/logger.js';
import type { JournalEntry, SessionJournal } from './journal.js';
import { encodeChunk, encodeOwed, type OwedMessage } from './owed-message.js';
import { StoreFullError, type SessionStore } from './store.js';

/** What the writer reports to its node. */
export interface WriterEvents {
  /** the store's limits refused a message: counted as a queue_full drop, the alarm raised */
  full(clientid: string, reason: string): void;
  /** the store took a message again after refusing some: the alarm is cleared */
  accepting(): void;
}

/** trims wait this long, so that one covers many acknowledgements */
const TRIM_DELAY_MS = 50;
/** a batch of one session's copies stays well under NATS's default max_payload (1 MB), and its places fit the record's numbering */
const CHUNK_BYTES = 256 * 1024;
const CHUNK_COPIES = 4096;

/** One session's copies of one I/O turn, stored as one stream message. */
interface Chunk {
  entries: JournalEntry[];
  copies: Uint8Array[];
  bytes: number;
}
const RETRY_MS = 250;
/** a store append abandoned for a new attempt */
const AGAIN = -2 as const;

/**
 * The write path to the session store, batched per I/O turn: every copy appended during a
 * turn is published at once (the store pipelines them) and barrier() resolves when all of
 * them are stored, so a publisher's acknowledgement waits for one round trip per turn, not
 * per message. Records are written once per turn per changed session; trims once per
 * TRIM_DELAY_MS per session. A write that fails for another reason than the limits is
 * retried until the store takes it: acknowledgements wait rather than lie.
 */
export class DurableWriter {
  /** appends ever made; the broker compares it around a publish to know whether to wait */
  appends = 0;
  /** this turn's copies by session, in order (a session's last chunk is the one being filled) */
  private chunks = new Map<SessionJournal, Chunk[]>();
  private sealing: Promise<void> | undefined;
  private readonly dirty = new Set<SessionJournal>();
  private recordsWritten: Promise<void> | undefined;
  private readonly toTrim = new Set<SessionJournal>();
  private trimTimer: NodeJS.Timeout | undefined;
  private refusing = false;
  private closed = false;
  /** publishers' acknowledgements waiting for copies being stored: let go when the store goes away */
  private readonly held = new Set<() => void>();
  private readonly instance = randomBytes(8).toString('hex');
  /** resolves when the store is reachable again (then replaced) */
  private back: Promise<void>;
  private wake: () => void = () => {};
  private chunkIds = 0;

  constructor(
    private readonly store: SessionStore,
    private readonly events: WriterEvents,
    private readonly log: Logger,
  ) {
    store.onDisconnect(() => {
      for (const release of this.held) release();
      this.held.clear();
    });
    this.back = new Promise((r) => (this.wake = r));
    store.onReconnect(() => {
      const wake = this.wake;
      this.back = new Promise((r) => (this.wake = r));
      wake();
    });
  }

  append(j: SessionJournal, e: JournalEntry, o: OwedMessage): void {
    this.appends++;
    const data = encodeOwed(o);
    let list = this.chunks.get(j);
    if (list === undefined) this.chunks.set(j, (list = []));
    let c = list[list.length - 1];
    if (c === undefined || c.bytes + data.length > CHUNK_BYTES || c.copies.length >= CHUNK_COPIES) list.push((c = { entries: [], copies: [], bytes: 0 }));
    e.idx = c.entries.length;
    c.entries.push(e);
    c.copies.push(data);
    c.bytes += 4 + data.length;
    this.sealing ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        const chunks = this.chunks;
        this.chunks = new Map();
        this.sealing = undefined;
        const stored: Promise<void>[] = [];
        for (const [jj, cs] of chunks) for (const cc of cs) stored.push(this.appendOne(jj, cc.entries, encodeChunk(cc.copies)));
        resolve(Promise.all(stored).then(() => undefined));
      }),
    );
  }

  /** Resolves once every copy appended in this I/O turn (and before) is stored. */
  barrier(): Promise<void> {
    return this.sealing ?? Promise.resolve();
  }

  /**
   * Stores one chunk; resolves once it is stored, or at once while the store is unreachable:
   * local traffic does not stop for NATS (DESIGN: failure), the copy is in this node's memory
   * as it is without durable sessions, and it is stored once the store is back (retried).
   */
  private appendOne(j: SessionJournal, entries: JournalEntry[], data: Uint8Array): Promise<void> {
    return new Promise<void>((resolve) => {
      const release = (): void => {
        this.held.delete(release);
        resolve();
      };
      this.held.add(release);
      // the store is away: the publisher does not wait (the chunk may wait behind another)
      if (!this.store.connected) release();
      // a session's chunks are stored one after the other: a retried one must not land after
      // its successor (a resume sends them in store order)
      // unique per process and chunk: a session resumed elsewhere continues its incarnation
      const id = `${this.instance}.${++this.chunkIds}`;
      const stored = (j.storing ?? Promise.resolve()).then(() => this.storeChunk(j, entries, data, id, release));
      j.storing = stored;
      void stored.then(() => {
        if (j.storing === stored) j.storing = undefined;
      });
    });
  }

  private async storeChunk(j: SessionJournal, entries: JournalEntry[], data: Uint8Array, id: string, release: () => void): Promise<void> {
    try {
      await this.storeChunkRetrying(j, entries, data, id, release);
    } finally {
      release();
    }
  }

  private async storeChunkRetrying(j: SessionJournal, entries: JournalEntry[], data: Uint8Array, id: string, release: () => void): Promise<void> {
    for (;;) {
      if (!this.store.connected) release();
      try {
        // (the chunk's id keeps a resent one from being stored twice)
        const seq = await this.orAgain(this.store.append(j.clientid, j.gen, data, id));
        if (seq === AGAIN) continue;
        for (const e of entries) e.seq = seq;
        if (this.refusing) {
          this.refusing = false;
          this.events.accepting();
        }
        if (entries.some((e) => e.done)) this.trimLater(j);
        return;
      } catch (err) {
        if (err instanceof StoreFullError) {
          for (const e of entries) e.seq = -1;
          this.refusing = true;
          for (const _ of entries) this.events.full(j.clientid, err.message);
          return;
        }
        if (this.closed || j.detached) {
          for (const e of entries) e.seq = -1;
          return;
        }
        this.log.warn({ clientid: j.clientid, err: (err as Error).message }, 'durable session store append failed; retrying');
        await Promise.race([new Promise((r) => setTimeout(r, RETRY_MS)), this.back]);
      }
    }
  }

  /**
   * A store write, or AGAIN when the store reconnects first: one sent before a disconnect is
   * lost with the connection and would only time out, so it is sent again at once.
   */
  private orAgain<T>(attempt: Promise<T>): Promise<T | typeof AGAIN> {
    attempt.catch(() => {});
    return Promise.race([attempt, this.back.then(() => AGAIN)]);
  }

  /** Writes the session's record (with the others changed in this turn); resolves once stored. */
  writeRecord(j: SessionJournal): Promise<void> {
    this.dirty.add(j);
    this.recordsWritten ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        const js = [...this.dirty];
        this.dirty.clear();
        this.recordsWritten = undefined;
        resolve(Promise.all(js.map((x) => this.putRecord(x))).then(() => undefined));
      }),
    );
    return this.recordsWritten;
  }

  /**
   * Resolves once the session's record is stored, or at once while the store is unreachable
   * (as appendOne: local traffic does not stop for NATS; the write is retried meanwhile).
   */
  recordStored(j: SessionJournal): Promise<void> {
    const written = this.writeRecord(j);
    if (!this.store.connected) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const release = (): void => {
        this.held.delete(release);
        resolve();
      };
      this.held.add(release);
      written.then(release, release);
    });
  }

  private async putRecord(j: SessionJournal): Promise<void> {
    for (;;) {
      if (j.detached || this.closed) return;
      try {
        // (a PUBREL may wait for it)
        if ((await this.orAgain(this.store.put(j.describe()))) === AGAIN) continue;
        return;
      } catch (err) {
        this.log.warn({ clientid: j.clientid, err: (err as Error).message }, 'durable session record write failed; retrying');
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  trimLater(j: SessionJournal): void {
    this.toTrim.add(j);
    this.trimTimer ??= setTimeout(() => this.trim(), TRIM_DELAY_MS);
  }

  private trim(): void {
    this.trimTimer = undefined;
    for (const j of this.toTrim) {
      const floor = j.floor();
      if (floor <= j.trimmedTo || j.detached) continue;
      j.trimmedTo = floor;
      // a failed trim is repeated by the next one, or leaves copies a resume sends again (QoS 1 may repeat)
      this.store.trim(j.clientid, j.gen, floor).then(
        () => j.trimmed(floor),
        (err: Error) => this.log.debug({ clientid: j.clientid, err: err.message }, 'durable session trim failed'),
      );
    }
    this.toTrim.clear();
  }

  /** Stops: what waits is settled, nothing is retried. */
  close(): void {
    this.closed = true;
    clearTimeout(this.trimTimer);
  }
}
