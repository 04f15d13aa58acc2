/**
 * A trie of topic filters (levels split on `/`), as nats-server's sublist is for subjects.
 * Each filter holds one value; `match(topic)` returns the values of every filter that
 * matches a topic name, following MQTT's wildcard rules: `+` is one level, `#` is any
 * number of levels including the parent, and a `$`-topic is not matched by a filter that
 * starts with a wildcard [MQTT-4.7.2-1].
 */
interface TrieNode<V> {
  children: Map<string, TrieNode<V>> | undefined;
  plus: TrieNode<V> | undefined;
  hash: TrieNode<V> | undefined;
  value: V | undefined;
}

function newNode<V>(): TrieNode<V> {
  return { children: undefined, plus: undefined, hash: undefined, value: undefined };
}

/**
 * Bumped whenever any trie changes (a filter set or deleted, a cache invalidated): an answer
 * derived from matches (RouteMemo) stays true while it has not moved.
 */
let generation = 0;
export const trieGeneration = (): number => generation;

/**
 * A caller's memo of one route answer (Broker.dropIfUnrouted), for a caller that asks about
 * the same topic again and again (a republish's target): valid while no trie changed, no
 * hook listener came or went and the topic rewrite is the same.
 */
export interface RouteMemo {
  topic: string | undefined;
  generation: number;
  /** the hooks' generation (what listens: Broker.dropIfUnrouted) when the answer was made */
  watch: number;
  /** the topic rewrite in force then (compared by identity) */
  rewrite: unknown;
  unrouted: boolean;
}

export const newRouteMemo = (): RouteMemo => ({ topic: undefined, generation: -1, watch: -1, rewrite: undefined, unrouted: false });

/** Topics whose matches are kept; past this the cache starts over (a flood of distinct topics). */
const MATCH_CACHE_MAX = 10_000;

/** match()'s stack, shared: a match never runs inside another */
const WALK_NODES: TrieNode<unknown>[] = [];
const WALK_DEPTHS: number[] = [];

export class TopicTrie<V> {
  private readonly root: TrieNode<V> = newNode();
  private count = 0;
  /**
   * matchCached() results by topic name. They hold the live values, so a change inside a
   * value needs no invalidation; a filter set or deleted does (invalidate() for owners
   * with stricter rules).
   */
  private cache = new Map<string, V[]>();

  get size(): number {
    return this.count;
  }

  get(filter: string): V | undefined {
    let node: TrieNode<V> | undefined = this.root;
    for (const level of filter.split('/')) {
      node = level === '+' ? node.plus : level === '#' ? node.hash : node.children?.get(level);
      if (!node) return undefined;
    }
    return node.value;
  }

  /** Sets the value of a filter; returns true when the filter is new. */
  set(filter: string, value: V): boolean {
    const node = this.leaf(filter);
    const added = node.value === undefined;
    node.value = value;
    if (added) this.count++;
    this.invalidate();
    return added;
  }

  /**
   * The value of a filter, made by `make` and set if it has none: one walk where get then
   * set take two (a node loading a million routes does this for each).
   */
  upsert(filter: string, make: (filter: string) => V): V {
    const node = this.leaf(filter);
    if (node.value !== undefined) return node.value;
    this.count++;
    this.invalidate();
    return (node.value = make(filter));
  }

  /** The node of a filter, made with the branch to it where missing. */
  private leaf(filter: string): TrieNode<V> {
    let node = this.root;
    for (const level of filter.split('/')) {
      let next: TrieNode<V> | undefined;
      if (level === '+') next = node.plus ??= newNode();
      else if (level === '#') next = node.hash ??= newNode();
      else {
        node.children ??= new Map();
        next = node.children.get(level);
        if (!next) node.children.set(level, (next = newNode()));
      }
      node = next;
    }
    return node;
  }

  /** Removes a filter, pruning empty branches; returns true when it was present. */
  delete(filter: string): boolean {
    const levels = filter.split('/');
    const path: [TrieNode<V>, string][] = [];
    let node: TrieNode<V> | undefined = this.root;
    for (const level of levels) {
      path.push([node, level]);
      node = level === '+' ? node.plus : level === '#' ? node.hash : node.children?.get(level);
      if (!node) return false;
    }
    if (node.value === undefined) return false;
    node.value = undefined;
    this.count--;
    this.invalidate();
    // prune from the leaf up while nodes are empty
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i]!;
      const child = level === '+' ? parent.plus : level === '#' ? parent.hash : parent.children?.get(level);
      if (!child || child.value !== undefined || child.plus || child.hash || (child.children && child.children.size > 0)) break;
      if (level === '+') parent.plus = undefined;
      else if (level === '#') parent.hash = undefined;
      else {
        parent.children!.delete(level);
        if (parent.children!.size === 0) parent.children = undefined;
      }
    }
    return true;
  }

  /** Drops every cached match. */
  invalidate(): void {
    generation++;
    if (this.cache.size > 0) this.cache = new Map();
  }

  /**
   * Values of all filters matching a topic name, cached per topic (the publish path asks
   * for the same topics again and again). The returned array is shared: do not modify it.
   */
  matchCached(topic: string): V[] {
    let hit = this.cache.get(topic);
    if (hit === undefined) {
      hit = this.match(topic);
      if (this.cache.size >= MATCH_CACHE_MAX) this.cache = new Map();
      this.cache.set(topic, hit);
    }
    return hit;
  }

  /**
   * Values of all filters matching a topic name, appended to `out` (not cached). Walked
   * with a stack of its own rather than by recursion: a topic may have 32,768 levels, deeper
   * than the call stack goes.
   */
  match(topic: string, out: V[] = []): V[] {
    const levels = topic.split('/');
    const dollar = topic.charCodeAt(0) === 36;
    const nodes = WALK_NODES as TrieNode<V>[];
    const depths = WALK_DEPTHS;
    nodes.push(this.root);
    depths.push(0);
    while (nodes.length > 0) {
      const node = nodes.pop()!;
      const i = depths.pop()!;
      const wild = !(dollar && i === 0);
      // `#` matches this level and everything below, including the parent level itself
      if (wild && node.hash?.value !== undefined) out.push(node.hash.value);
      if (i === levels.length) {
        if (node.value !== undefined) out.push(node.value);
        continue;
      }
      // the exact level is pushed last, so it is walked first
      if (wild && node.plus) {
        nodes.push(node.plus);
        depths.push(i + 1);
      }
      const exact = node.children?.get(levels[i]!);
      if (exact) {
        nodes.push(exact);
        depths.push(i + 1);
      }
    }
    return out;
  }

  *entries(): Generator<[string, V]> {
    const stack: [TrieNode<V>, string][] = [[this.root, '']];
    while (stack.length) {
      const [node, prefix] = stack.pop()!;
      if (node.value !== undefined) yield [prefix, node.value];
      const join = (l: string) => (node === this.root ? l : `${prefix}/${l}`);
      if (node.children) for (const [l, c] of node.children) stack.push([c, join(l)]);
      if (node.plus) stack.push([node.plus, join('+')]);
      if (node.hash) stack.push([node.hash, join('#')]);
    }
  }
}
