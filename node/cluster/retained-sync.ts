import type { RetainedTable } from '../../shared/cluster/store.js';
import { decodeMessage, encodeMessage } from '../../shared/cluster/message-codec.js';
import type { Message } from '../../shared/message.js';
import type { RetainedStore } from '../router/retained.js';

/**
 * Retained messages replicated on every node: a retained publish here is written to the
 * store, the store's change notices update the local replica, and a change the store missed
 * while away is remembered (the dirty set) and written again on reconnect.
 */
export class RetainedSync {
  /** retained topics set while the store was away, written again on reconnect */
  private readonly dirty = new Set<string>();

  constructor(
    private readonly store: RetainedTable,
    private readonly local: RetainedStore,
  ) {}

  /** Applies the store's change notices to the local replica. */
  listen(): void {
    this.store.onRetainedChange((topic, enc) => this.apply(topic, enc));
  }

  changed(topic: string, msg: Message | undefined): void {
    this.store.setRetained(topic, msg ? encodeMessage(msg) : null).catch(() => this.dirty.add(topic));
  }

  private apply(topic: string, enc: Uint8Array | null): void {
    if (this.dirty.has(topic)) return; // ours is newer; it is written on reconnect
    if (enc === null) this.local.delete(topic);
    else this.local.set(decodeMessage(enc));
  }

  /** Makes the local replica equal to the store's retained messages. */
  async load(): Promise<void> {
    const all = await this.store.retained();
    for (const m of [...this.local.all()]) if (!all.has(m.topic) && !this.dirty.has(m.topic)) this.local.delete(m.topic);
    for (const [topic, enc] of all) if (!this.dirty.has(topic)) this.local.set(decodeMessage(enc));
  }

  /** After the store comes back: the changes it missed are written again, then the replica reloaded. */
  async restore(): Promise<void> {
    for (const topic of [...this.dirty]) {
      const m = this.local.get(topic);
      await this.store.setRetained(topic, m ? encodeMessage(m) : null);
      this.dirty.delete(topic);
    }
    // a store that restarted empty (Redis without persistence) gets back every retained
    // message this node still holds: losing them cluster-wide is worse than resurrecting
    // one deleted while this node was cut off
    const stored = await this.store.retained();
    for (const m of [...this.local.all()]) if (!stored.has(m.topic)) await this.store.setRetained(m.topic, encodeMessage(m));
    await this.load();
  }
}
