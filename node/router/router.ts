import type { Message, QoS } from '../../shared/message.js';
import { TopicTrie } from './trie.js';
import { PublishEncoder } from '../protocol/codec.js';
import { mergeOptions, overlapping } from './overlap.js';

/** MQTT 5 subscription options [MQTT-3.8.3.1]; MQTT 3.x subscriptions use the defaults. */
export interface SubOptions {
  qos: QoS;
  /** No Local */
  nl: boolean;
  /** Retain As Published */
  rap: boolean;
  /** Retain Handling */
  rh: 0 | 1 | 2;
  /** Subscription Identifier, when the SUBSCRIBE carried one */
  subId: number | undefined;
  /** every Subscription Identifier, when one copy goes for several overlapping subscriptions (see overlap.ts) */
  subIds?: number[] | undefined;
  /** the shared-subscription group, when subscribed as `$share/<group>/...` or `$queue/...` */
  share: string | undefined;
}

/** Whoever receives messages for a subscription: a session. */
export interface Subscriber {
  readonly clientId: string;
  /** whether a live connection is attached (shared groups prefer online members) */
  readonly online: boolean;
  /** `enc` carries the message's shared encoding for this dispatch */
  deliver(msg: Message, opts: SubOptions, enc?: PublishEncoder): void;
  /** one copy of a message for all its matching subscriptions (MQTT 5; see overlap.ts) */
  readonly oneCopy?: boolean;
  /** overlap.ts's scratch */
  dispatchMark?: number;
}

export interface Subscription {
  subscriber: Subscriber;
  opts: SubOptions;
}

export interface SharedGroup {
  name: string;
  members: Subscription[];
  next: number;
}

/** Everything subscribed under one topic filter on this node. */
export interface FilterEntry {
  filter: string;
  subs: Map<string, Subscription>;
  /**
   * subs' values as an array, dropped on change and rebuilt by the next dispatch: dispatch
   * iterates it without an iterator object, safely while a delivery unsubscribes someone,
   * and a burst of subscriptions to one filter costs O(1) each
   */
  list: Subscription[] | undefined;
  shared: Map<string, SharedGroup> | undefined;
}

export type DispatchStrategy = 'random' | 'round_robin';

/**
 * A route key: the filter while it has ordinary subscribers here, and
 * `$share/<group>/<filter>` while a shared group has members here.
 */
export function routeKey(filter: string, group: string | undefined): string {
  return group === undefined ? filter : `$share/${group}/${filter}`;
}

export interface RouterEvents {
  /** the first local subscription under a route key: a route `key → this node` appears */
  routeAdded(key: string): void;
  /** the last local subscription under a route key went away */
  routeDeleted(key: string): void;
  /** a shared group's member count here changed while its route stays (1 on routeAdded) */
  sharedMembersChanged?(key: string, members: number): void;
}

/**
 * The local subscription table. Matching a topic is cached per topic name by the trie; the
 * cache holds live FilterEntry objects, so it is only invalidated when a filter appears or
 * disappears, not when subscribers join or leave an existing filter.
 */
export class Router {
  private readonly trie = new TopicTrie<FilterEntry>();
  private subCount = 0;
  private sharedCount = 0;
  private routeChanges = 0;

  constructor(
    private strategy: DispatchStrategy,
    private readonly events: RouterEvents,
  ) {}

  get filterCount(): number {
    return this.trie.size;
  }

  /** Grows whenever a route key appears or goes: a cache of routeKeys() is current while it stays. */
  get routeVersion(): number {
    return this.routeChanges;
  }

  get subscriptionCount(): number {
    return this.subCount;
  }

  get sharedSubscriptionCount(): number {
    return this.sharedCount;
  }

  setStrategy(s: DispatchStrategy): void {
    this.strategy = s;
  }

  /** Adds or replaces a subscription; returns true when it did not exist before. */
  subscribe(subscriber: Subscriber, filter: string, opts: SubOptions): boolean {
    let entry = this.trie.get(filter);
    if (!entry) {
      entry = { filter, subs: new Map(), list: undefined, shared: undefined };
      this.trie.set(filter, entry);
    }
    if (opts.share === undefined) {
      const existed = entry.subs.has(subscriber.clientId);
      entry.subs.set(subscriber.clientId, { subscriber, opts });
      entry.list = undefined;
      if (!existed) {
        this.subCount++;
        if (entry.subs.size === 1) {
          this.routeChanges++;
          this.events.routeAdded(filter);
        }
      }
      return !existed;
    }
    entry.shared ??= new Map();
    let group = entry.shared.get(opts.share);
    if (!group) {
      entry.shared.set(opts.share, (group = { name: opts.share, members: [], next: 0 }));
      this.routeChanges++;
      this.events.routeAdded(routeKey(filter, opts.share));
    }
    const i = group.members.findIndex((m) => m.subscriber.clientId === subscriber.clientId);
    if (i >= 0) {
      group.members[i] = { subscriber, opts };
      return false;
    }
    group.members.push({ subscriber, opts });
    if (group.members.length > 1) this.events.sharedMembersChanged?.(routeKey(filter, opts.share), group.members.length);
    this.subCount++;
    this.sharedCount++;
    return true;
  }

  unsubscribe(clientId: string, filter: string, share: string | undefined): boolean {
    const entry = this.trie.get(filter);
    if (!entry) return false;
    let removed = false;
    if (share === undefined) {
      removed = entry.subs.delete(clientId);
      if (removed) {
        entry.list = undefined;
        if (entry.subs.size === 0) {
          this.routeChanges++;
          this.events.routeDeleted(filter);
        }
      }
    } else {
      const group = entry.shared?.get(share);
      const i = group ? group.members.findIndex((m) => m.subscriber.clientId === clientId) : -1;
      if (group && i >= 0) {
        group.members.splice(i, 1);
        if (group.members.length === 0) {
          entry.shared!.delete(share);
          this.routeChanges++;
          this.events.routeDeleted(routeKey(filter, share));
        } else this.events.sharedMembersChanged?.(routeKey(filter, share), group.members.length);
        this.sharedCount--;
        removed = true;
      }
    }
    if (!removed) return false;
    this.subCount--;
    if (entry.subs.size === 0 && (!entry.shared || entry.shared.size === 0)) this.trie.delete(filter);
    return true;
  }

  /** Filter entries matching a topic name. The returned array is shared: do not modify it. */
  match(topic: string): FilterEntry[] {
    return this.trie.matchCached(topic);
  }

  /**
   * Delivers a message to every local subscription matching its topic and, unless
   * `shared` is false (a cluster chooses shared members cluster-wide), to one member of
   * each matching local shared group; returns the number of deliveries.
   */
  dispatch(msg: Message, enc?: PublishEncoder, shared = true): number {
    const entries = this.match(msg.topic);
    if (entries.length === 0) return 0;
    // one encoder per message, made only once someone is subscribed (its packets are shared by the deliveries)
    enc ??= new PublishEncoder(msg.topic, msg.payload);
    // a client subscribed by several of these filters may want one copy (undefined mostly)
    const merged = entries.length > 1 ? overlapping(entries, msg) : undefined;
    let n = 0;
    for (let e = 0; e < entries.length; e++) {
      const entry = entries[e]!;
      const list = (entry.list ??= [...entry.subs.values()]);
      for (let i = 0; i < list.length; i++) {
        const sub = list[i]!;
        if (merged !== undefined && merged.has(sub.subscriber)) {
          const once = merged.get(sub.subscriber);
          if (once === undefined) continue; // its copy went already
          merged.set(sub.subscriber, undefined);
          sub.subscriber.deliver(msg, once, enc);
        } else {
          sub.subscriber.deliver(msg, sub.opts, enc);
        }
        n++;
      }
      if (shared && entry.shared) {
        for (const group of entry.shared.values()) {
          const member = this.pick(group);
          if (member) {
            member.subscriber.deliver(msg, member.opts, enc);
            n++;
          }
        }
      }
    }
    return n;
  }

  /**
   * The options of each copy of `msg` for one subscriber's ordinary subscriptions, as
   * dispatch() makes them for it (one merged copy for a one-copy subscriber).
   */
  subscriberOptions(clientId: string, msg: Message): SubOptions[] {
    const subs: Subscription[] = [];
    for (const e of this.match(msg.topic)) {
      const sub = e.subs.get(clientId);
      if (sub !== undefined) subs.push(sub);
    }
    if (subs.length > 1 && subs[0]!.subscriber.oneCopy === true) return [mergeOptions(subs, msg.from === clientId)];
    return subs.map((sub) => sub.opts);
  }

  /** Delivers to one local member of a shared group (the cluster chose this node for it); false when none is left. */
  deliverShared(filter: string, group: string, msg: Message, enc?: PublishEncoder): boolean {
    const g = this.trie.get(filter)?.shared?.get(group);
    const member = g ? this.pick(g) : undefined;
    if (!member) return false;
    member.subscriber.deliver(msg, member.opts, enc);
    return true;
  }

  /** Local member count of a shared group, for weighting the cluster-wide choice. */
  sharedMembers(filter: string, group: string): number {
    return this.trie.get(filter)?.shared?.get(group)?.members.length ?? 0;
  }

  /** Member count of every local shared group (its route key → count). */
  sharedMemberCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [filter, entry] of this.trie.entries()) {
      if (entry.shared) for (const [g, group] of entry.shared) out.set(routeKey(filter, g), group.members.length);
    }
    return out;
  }

  /** The route keys this node has (see routeKey), sorted. */
  routeKeys(): string[] {
    const out: string[] = [];
    for (const [filter, entry] of this.trie.entries()) {
      if (entry.subs.size > 0) out.push(filter);
      if (entry.shared) for (const g of entry.shared.keys()) out.push(routeKey(filter, g));
    }
    return out.sort();
  }

  /** One member of a shared group by the dispatch strategy, preferring members that are online. */
  pick(group: SharedGroup): Subscription | undefined {
    const members = group.members;
    const n = members.length;
    if (n === 0) return undefined;
    const start = this.strategy === 'round_robin' ? group.next++ % n : Math.floor(Math.random() * n);
    for (let k = 0; k < n; k++) {
      const m = members[(start + k) % n]!;
      if (m.subscriber.online) return m;
    }
    return members[start];
  }

  /** The filters this node has subscriptions on (its routes). */
  filters(): string[] {
    return [...this.trie.entries()].map(([f]) => f).sort();
  }
}
