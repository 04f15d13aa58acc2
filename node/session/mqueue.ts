import type { Message, QoS } from '../../shared/message.js';
import type { SubOptions } from '../router/router.js';
import type { JournalEntry } from './durable/journal.js';

/** A message waiting for delivery to one session, with the QoS it will be sent at. */
export interface Pending {
  msg: Message;
  qos: QoS;
  retain: boolean;
  opts: SubOptions | undefined;
  /** its stored copy, when the session is durable */
  rec?: JournalEntry | undefined;
  /** read back from the durable store: sent with DUP set */
  dup?: boolean;
}

/**
 * The bounded message queue of a session (EMQX's mqueue): holds messages while the client
 * is offline, its inflight window is full or its socket is congested. When full, the
 * oldest message is dropped and handed back to the caller to be counted.
 */
/** shared by every queue that has never held anything (grow() replaces it before a write) */
const EMPTY_ITEMS: (Pending | undefined)[] = [];

export class MQueue {
  private items: (Pending | undefined)[] = EMPTY_ITEMS;
  private head = 0;
  private len = 0;
  dropped = 0;
  /** messages ever pushed (EMQX 3's enqueue_msg) */
  enqueued = 0;

  constructor(readonly max: number) {}

  get length(): number {
    return this.len;
  }

  /** Appends; returns the message dropped to make room, if any. */
  push(p: Pending): Pending | undefined {
    let dropped: Pending | undefined;
    if (this.max > 0 && this.len >= this.max) {
      dropped = this.shift();
      this.dropped++;
    }
    if (this.len === this.items.length) this.grow();
    this.items[(this.head + this.len) % this.items.length] = p;
    this.len++;
    this.enqueued++;
    return dropped;
  }

  peek(): Pending | undefined {
    return this.len > 0 ? this.items[this.head] : undefined;
  }

  shift(): Pending | undefined {
    if (this.len === 0) return undefined;
    const p = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.len--;
    if (this.len === 0) this.head = 0;
    return p;
  }

  /** Moves everything out (for a session moving elsewhere). */
  drain(): Pending[] {
    const out: Pending[] = [];
    for (let p = this.shift(); p; p = this.shift()) out.push(p);
    return out;
  }

  private grow(): void {
    const size = Math.max(4, this.items.length * 2);
    const next: (Pending | undefined)[] = new Array(size);
    for (let i = 0; i < this.len; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
