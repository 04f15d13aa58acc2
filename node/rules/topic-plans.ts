import { TopicTrie } from '../router/trie.js';

/**
 * The message rules of a node by FROM topic filter, and for each topic published on its
 * plan: the rules a message on it runs, each once however many of its filters match, and
 * the WHERE verdict of each rule by QoS once known (for the
 * rules whose WHERE depends only on topic and QoS: CompiledSql.byTopic). A message then
 * costs one lookup by topic, not a trie walk and a WHERE per rule.
 */
export interface TopicPlan<R> {
  rules: R[];
  /** by `qos * rules.length + i`: UNKNOWN, PASS or REFUSE for rules[i] */
  verdicts: Uint8Array;
  /**
   * By QoS, once every kept verdict at that QoS is known: the rules a message runs (those
   * that pass, and those whose WHERE is judged per message), in the order of `rules`.
   */
  runs: (R[] | undefined)[];
  /** messages that matched every rule here and are not yet in the rules' matched counts */
  pending: number;
}

export const UNKNOWN = 0;
export const PASS = 1;
export const REFUSE = 2;

/** Topics whose plans are kept; past this they start over (a flood of distinct topics). */
const MAX_PLANS = 10_000;

export class TopicPlans<R> {
  private readonly trie = new TopicTrie<R[]>();
  private plans = new Map<string, TopicPlan<R>>();
  // the last topic's plan: a run of messages on one topic (one publisher's socket read)
  // compares the topic's text, not hashes each new topic string for the map
  private lastTopic: string | undefined;
  private lastPlan: TopicPlan<R> | undefined;

  /** The number of distinct FROM filters. */
  get size(): number {
    return this.trie.size;
  }

  add(filter: string, rule: R): void {
    const list = this.trie.get(filter);
    if (list) list.push(rule);
    else this.trie.set(filter, [rule]);
    this.plans = new Map();
    this.lastTopic = undefined;
    this.lastPlan = undefined;
  }

  /** The plan of a topic (shared: do not modify but its verdicts). */
  plan(topic: string): TopicPlan<R> {
    if (topic === this.lastTopic) return this.lastPlan!;
    let p = this.plans.get(topic);
    if (p === undefined) {
      // in the order the trie finds them, each at its first filter
      const rules = [...new Set(this.trie.match(topic).flat())];
      p = { rules, verdicts: new Uint8Array(rules.length * 3), runs: [undefined, undefined, undefined], pending: 0 };
      if (this.plans.size >= MAX_PLANS) this.plans = new Map();
      this.plans.set(topic, p);
    }
    this.lastTopic = topic;
    this.lastPlan = p;
    return p;
  }
}
