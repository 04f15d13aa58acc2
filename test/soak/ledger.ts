/**
 * The soak's bookkeeping: every QoS 1/2 publish a publisher had acknowledged, and every
 * message each subscriber got, so the end checks can say what was owed and not delivered,
 * and what came twice where it must come once.
 */
import { topicMatches } from '../../shared/topic.js';

export type QoS = 0 | 1 | 2;

interface Acked {
  topic: string;
  qos: QoS;
  /** when the publisher had its acknowledgement */
  at: number;
  /** MQTT 5: the acknowledgement's reason code (0x10: the node knew no matching subscriber) */
  reasonCode?: number;
}

/** A persistent subscriber's one subscription and what reached it, across reconnections. */
interface PersistentBook {
  filter: string;
  qos: QoS;
  /** message id → copies received */
  got: Map<string, number>;
}

export interface LedgerResult {
  /** QoS 1/2 publishes acknowledged to their publisher */
  acked: number;
  /** (message, persistent subscriber) pairs owed: the message was acknowledged and matches the subscription */
  owed: number;
  /** owed pairs never delivered (allowed only up to the nodes' counted queue-full drops) */
  missing: number;
  /** QoS 2 (as delivered) copies beyond the first, persistent, clean and shared subscribers together: must be 0 */
  qos2Duplicates: number;
  qos2DuplicatesPersistent: number;
  /** QoS 1 copies beyond the first (allowed: at least once) */
  qos1Duplicates: number;
  /** persistent subscribers missing something, and of those, missing everything they were owed */
  subscribersMissing: number;
  subscribersMissingAll: number;
  /** a few of the missing pairs, for the report */
  missingExamples: string[];
  /** the same pairs as data */
  missingPairs: { id: string; clientId: string; at: number }[];
  duplicateExamples: string[];
}

export class Ledger {
  private readonly acked = new Map<string, Acked>();
  /** topic → ids of acknowledged messages, so owed pairs are found per topic, not per message */
  private readonly byTopic = new Map<string, string[]>();
  private readonly persistent = new Map<string, PersistentBook>();
  /** (group, id) → copies, for messages delivered as QoS 2 to a shared group */
  private readonly shared = new Map<string, number>();
  qos2Duplicates = 0;
  /** of those, to persistent subscribers (across connections of one session) */
  qos2DuplicatesPersistent = 0;
  qos1Duplicates = 0;
  /** a few QoS 2 duplicates: who got what twice */
  readonly duplicateExamples: string[] = [];
  /** when each QoS 2 duplicate came (a fault's report puts them in its windows) */
  readonly qos2DuplicateTimes: number[] = [];
  /** publishes attempted, by QoS (acknowledged or not) */
  readonly attempted: [number, number, number] = [0, 0, 0];
  /** deliveries seen by every subscriber, by QoS as delivered */
  readonly deliveries: [number, number, number] = [0, 0, 0];

  published(qos: QoS): void {
    this.attempted[qos]++;
  }

  /** An acknowledged publish, for the report. */
  describe(id: string): string {
    const a = this.acked.get(id);
    return a ? `${id} (${a.topic} QoS ${a.qos}, acknowledged at ${a.at}${a.reasonCode ? ` with reason code 0x${a.reasonCode.toString(16)}` : ''})` : id;
  }

  ack(id: string, topic: string, qos: QoS, reasonCode?: number): void {
    if (qos === 0) return;
    this.acked.set(id, { topic, qos, at: Date.now(), reasonCode });
    let ids = this.byTopic.get(topic);
    if (!ids) this.byTopic.set(topic, (ids = []));
    ids.push(id);
  }

  /** A persistent subscriber's subscription, made before any traffic. */
  subscribePersistent(clientId: string, filter: string, qos: QoS): void {
    this.persistent.set(clientId, { filter, qos, got: new Map() });
  }

  /** One delivery to a persistent subscriber (any connection of its session). */
  deliveredPersistent(clientId: string, id: string, qos: QoS): void {
    this.deliveries[qos]++;

    const book = this.persistent.get(clientId);
    if (!book) return;
    const n = (book.got.get(id) ?? 0) + 1;
    book.got.set(id, n);
    if (n > 1 && qos === 2) this.qos2DuplicatesPersistent++;
    if (n > 1) this.countDuplicate(qos, `${id} to persistent ${clientId}`);
  }

  /**
   * One delivery to a clean-session subscriber; `seen` is that connection's own set, since
   * a clean session owes nothing across connections.
   */
  deliveredClean(clientId: string, seen: Set<string>, id: string, qos: QoS): void {
    this.deliveries[qos]++;
    if (qos === 0) return;
    if (seen.has(id)) this.countDuplicate(qos, `${id} to clean ${clientId}`);
    else seen.add(id);
  }

  /** One delivery to a member of a `$share` group: a QoS 2 message reaches one member, once. */
  deliveredShared(group: string, id: string, qos: QoS): void {
    this.deliveries[qos]++;
    if (qos !== 2) return;
    const key = `${group} ${id}`;
    const n = (this.shared.get(key) ?? 0) + 1;
    this.shared.set(key, n);
    if (n > 1) this.countDuplicate(2, `${id} to group ${group}`);
  }

  private countDuplicate(qos: QoS, what: string): void {
    if (qos === 2) this.qos2DuplicateTimes.push(Date.now());
    if (qos === 2 && this.duplicateExamples.length < 5) this.duplicateExamples.push(`${what} at ${Date.now()}`);
    if (qos === 2) this.qos2Duplicates++;
    else if (qos === 1) this.qos1Duplicates++;
  }

  /** How many owed messages a persistent subscriber still lacks (the drain waits for 0). */
  lacking(clientId: string): number {
    const book = this.persistent.get(clientId);
    if (!book) return 0;
    let n = 0;
    this.forOwed(book, (id) => {
      if (!book.got.has(id)) n++;
    });
    return n;
  }

  private forOwed(book: PersistentBook, fn: (id: string) => void): void {
    for (const [topic, ids] of this.byTopic) {
      if (!topicMatches(book.filter, topic)) continue;
      for (const id of ids) fn(id);
    }
  }

  /** Every owed pair never delivered (result() keeps a few): a fault's report sorts them by cause. */
  missingAll(): LedgerResult['missingPairs'] {
    const out: LedgerResult['missingPairs'] = [];
    for (const [clientId, book] of this.persistent) {
      this.forOwed(book, (id) => {
        if (!book.got.has(id)) out.push({ id, clientId, at: this.acked.get(id)?.at ?? 0 });
      });
    }
    return out;
  }

  result(): LedgerResult {
    let owed = 0;
    let missing = 0;
    const missingExamples: string[] = [];
    const missingPairs: LedgerResult['missingPairs'] = [];
    let subscribersMissing = 0;
    let subscribersMissingAll = 0;
    for (const [clientId, book] of this.persistent) {
      let own = 0;
      let lost = 0;
      this.forOwed(book, (id) => {
        owed++;
        own++;
        if (book.got.has(id)) return;
        missing++;
        lost++;
        if (missingPairs.length < 5) missingPairs.push({ id, clientId, at: this.acked.get(id)?.at ?? 0 });
        if (missingExamples.length < 5) missingExamples.push(`${this.describe(id)} to ${clientId} (${book.filter} QoS ${book.qos})`);
      });
      if (lost > 0) subscribersMissing++;
      if (lost > 0 && lost === own) subscribersMissingAll++;
    }
    return { acked: this.acked.size, owed, missing, subscribersMissing, subscribersMissingAll, qos2Duplicates: this.qos2Duplicates, qos2DuplicatesPersistent: this.qos2DuplicatesPersistent, qos1Duplicates: this.qos1Duplicates, missingExamples, missingPairs, duplicateExamples: this.duplicateExamples };
  }
}
