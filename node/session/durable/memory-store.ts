import { StoreFullError, type RecordEntry, type SessionRecord, type SessionStore, type StoredMessage } from './store.js';

/**
 * The session store in this process's memory: standalone mode (nothing outlives the process
 * there anyway, so it only keeps the code paths one) and the unit tests of the store logic.
 * Limits as the stream has them: per session incarnation (oldest dropped) and overall
 * (new ones refused).
 */
export class MemorySessionStore implements SessionStore {
  private readonly msgs = new Map<string, StoredMessage[]>();
  private readonly records = new Map<string, RecordEntry>();
  private seq = 0;
  private revision = 0;
  private total = 0;

  constructor(private readonly limits: { perSession: number; maxMessages: number } = { perSession: 0, maxMessages: 0 }) {}

  readonly connected: boolean = true;
  async start(): Promise<void> {}
  async close(): Promise<void> {}
  onDisconnect(_cb: () => void): void {}
  onReconnect(_cb: () => void): void {}

  private key(clientid: string, gen: string): string {
    return `${clientid}\u0000${gen}`;
  }

  async append(clientid: string, gen: string, data: Uint8Array): Promise<number> {
    if (this.limits.maxMessages > 0 && this.total >= this.limits.maxMessages) throw new StoreFullError('maximum messages exceeded');
    const k = this.key(clientid, gen);
    let list = this.msgs.get(k);
    if (!list) this.msgs.set(k, (list = []));
    const seq = ++this.seq;
    list.push({ seq, data: Uint8Array.from(data) });
    this.total++;
    if (this.limits.perSession > 0 && list.length > this.limits.perSession) {
      list.shift();
      this.total--;
    }
    return seq;
  }

  async trim(clientid: string, gen: string, seq: number): Promise<void> {
    const list = this.msgs.get(this.key(clientid, gen));
    if (!list) return;
    const keep = list.filter((m) => m.seq >= seq);
    this.total -= list.length - keep.length;
    this.msgs.set(this.key(clientid, gen), keep);
  }

  async purge(clientid: string, gen: string | undefined): Promise<void> {
    for (const [k, list] of this.msgs) {
      if (gen === undefined ? k.startsWith(`${clientid}\u0000`) : k === this.key(clientid, gen)) {
        this.total -= list.length;
        this.msgs.delete(k);
      }
    }
  }

  async messages(clientid: string, gen: string): Promise<StoredMessage[]> {
    return [...(this.msgs.get(this.key(clientid, gen)) ?? [])];
  }

  async get(clientid: string): Promise<RecordEntry | undefined> {
    const e = this.records.get(clientid);
    return e && { record: structuredClone(e.record), revision: e.revision };
  }

  async put(record: SessionRecord): Promise<void> {
    this.records.set(record.clientid, { record: structuredClone(record), revision: ++this.revision });
  }

  async update(record: SessionRecord, revision: number): Promise<boolean> {
    if (this.records.get(record.clientid)?.revision !== revision) return false;
    await this.put(record);
    return true;
  }

  async remove(clientid: string, revision?: number): Promise<boolean> {
    if (revision !== undefined && this.records.get(clientid)?.revision !== revision) return false;
    return this.records.delete(clientid);
  }

  async clientids(): Promise<string[]> {
    return [...this.records.keys()];
  }

  async counts(): Promise<{ messages: number; records: number }> {
    return { messages: this.total, records: this.records.size };
  }
}
