// node/router/trie.ts: TopicTrie set/get/delete/prune/match, and match against a brute-force
// topicMatches over seeded random filters and topics.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopicTrie } from '../../node/router/trie.js';
import { topicMatches, validTopicFilter } from '../../shared/topic.js';
import { prng } from '../support/prng.js';


/** Filters whose values are the filters themselves, so a match lists which filters matched. */
function trieOf(filters: string[]): TopicTrie<string> {
  const t = new TopicTrie<string>();
  for (const f of filters) t.set(f, f);
  return t;
}

const sorted = (a: string[]) => [...a].sort();

/** The trie holds no empty branches: every node on the way has a value or children. */
function assertPruned(trie: TopicTrie<unknown>): void {
  type N = { children?: Map<string, N>; plus?: N; hash?: N; value?: unknown };
  const root = (trie as unknown as { root: N }).root;
  const visit = (n: N, path: string, isRoot: boolean): number => {
    let below = 0;
    if (n.children) {
      assert.ok(n.children.size > 0, `empty children map left at "${path}"`);
      for (const [l, c] of n.children) below += visit(c, `${path}/${l}`, false);
    }
    if (n.plus) below += visit(n.plus, `${path}/+`, false);
    if (n.hash) below += visit(n.hash, `${path}/#`, false);
    const here = n.value !== undefined ? 1 : 0;
    if (!isRoot) assert.ok(here + below > 0, `empty node left at "${path}"`);
    return here + below;
  };
  visit(root, '', true);
}

describe('TopicTrie', () => {
  it('set/get/size, set reports new filters only', () => {
    const t = new TopicTrie<number>();
    assert.equal(t.size, 0);
    assert.equal(t.set('a/b', 1), true);
    assert.equal(t.set('a/b', 2), false, 'replacing is not new');
    assert.equal(t.get('a/b'), 2);
    assert.equal(t.set('a', 3), true);
    assert.equal(t.set('a/+', 4), true);
    assert.equal(t.set('a/#', 5), true);
    assert.equal(t.set('+', 6), true);
    assert.equal(t.set('#', 7), true);
    assert.equal(t.set('', 8), true);
    assert.equal(t.set('/', 9), true);
    assert.equal(t.set('a/b/c', 0), true, 'falsy values are values');
    assert.equal(t.size, 9);
    assert.equal(t.get('a'), 3);
    assert.equal(t.get('a/+'), 4);
    assert.equal(t.get('a/#'), 5);
    assert.equal(t.get('+'), 6);
    assert.equal(t.get('#'), 7);
    assert.equal(t.get(''), 8);
    assert.equal(t.get('/'), 9);
    assert.equal(t.get('a/b/c'), 0);
    // get is exact: no wildcard matching
    assert.equal(t.get('a/c'), undefined);
    assert.equal(t.get('b'), undefined);
    assert.equal(t.get('a/b/c/d'), undefined);
    assert.equal(t.get('+/b'), undefined);
    assert.deepEqual(
      sorted([...t.entries()].map(([f]) => f)),
      sorted(['a/b', 'a', 'a/+', 'a/#', '+', '#', '', '/', 'a/b/c']),
    );
  });

  it('delete keeps other filters and prunes empty branches', () => {
    const t = new TopicTrie<string>();
    for (const f of ['a/b/c', 'a/b', 'a/+/c', 'a/#', 'x/y/z/w']) t.set(f, f);
    assert.equal(t.delete('a'), false, 'an inner node without a value');
    assert.equal(t.delete('a/b/c/d'), false, 'below a leaf');
    assert.equal(t.delete('q'), false);
    assert.equal(t.delete('a/b'), true);
    assert.equal(t.delete('a/b'), false, 'second delete');
    assert.equal(t.get('a/b/c'), 'a/b/c', 'the child survives its parent');
    assert.equal(t.size, 4);
    assert.equal(t.delete('x/y/z/w'), true);
    assertPruned(t);
    assert.equal(t.delete('a/b/c'), true);
    assertPruned(t);
    assert.deepEqual(sorted(t.match('a/b/c')), ['a/#', 'a/+/c']);
    assert.equal(t.delete('a/+/c'), true);
    assert.equal(t.delete('a/#'), true);
    assert.equal(t.size, 0);
    const root = (t as unknown as { root: { children?: unknown; plus?: unknown; hash?: unknown } }).root;
    assert.equal(root.children, undefined);
    assert.equal(root.plus, undefined);
    assert.equal(root.hash, undefined);
    assert.deepEqual([...t.entries()], []);
  });

  it('deleting a wildcard filter does not touch the literal "+"/"#"-free branch', () => {
    const t = trieOf(['a/+', 'a/b', '#', 'c']);
    assert.equal(t.delete('a/#'), false);
    assert.equal(t.delete('a/+'), true);
    assert.equal(t.get('a/b'), 'a/b');
    assert.equal(t.delete('#'), true);
    assert.deepEqual(sorted(t.match('a/b')), ['a/b']);
    assert.deepEqual(t.match('c'), ['c']);
    assertPruned(t);
  });

  const filters = ['a', 'a/b', 'a/+', 'a/#', '+', '+/+', '+/b', '#', '/', '/+', '+/#', 'a/+/c', 'a/b/#', '$SYS/#', '$SYS/+', '$SYS', '+/$SYS', 'x/#'];
  const table: [string, string[]][] = [
    ['a', ['a', '+', '#', 'a/#', '+/#']],
    ['a/b', ['a/b', 'a/+', 'a/#', '+/+', '+/b', '#', '+/#', 'a/b/#']],
    ['a/b/c', ['a/#', '#', '+/#', 'a/+/c', 'a/b/#']],
    ['/', ['/', '/+', '+/+', '#', '+/#']],
    ['b', ['+', '#', '+/#']],
    ['$SYS', ['$SYS', '$SYS/#']],
    ['$SYS/b', ['$SYS/#', '$SYS/+']],
    ['$SYS/x/y', ['$SYS/#']],
    ['x/$SYS', ['+/$SYS', '+/+', '#', '+/#', 'x/#']],
    ['x', ['+', '#', '+/#', 'x/#']],
  ];
  const t = trieOf(filters);
  for (const [topic, expected] of table) {
    it(`match ${JSON.stringify(topic)}`, () => {
      assert.deepEqual(sorted(t.match(topic)), sorted(expected));
      assert.deepEqual(sorted(t.match(topic)), sorted(filters.filter((f) => topicMatches(f, topic))), 'agrees with topicMatches');
    });
  }

  it('match appends to the given array', () => {
    const out = ['pre'];
    assert.equal(t.match('b', out), out);
    assert.deepEqual(sorted(out), sorted(['pre', '+', '#', '+/#']));
  });

  it('seeded random filters and topics: match equals brute-force topicMatches, through sets and deletes', () => {
    const rnd = prng(20240501);
    const filterLevels = ['a', 'b', 'c', '', '$SYS', '$x', '+', '+', '#'];
    const topicLevels = ['a', 'b', 'c', '', '$SYS', '$x', 'd'];
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const randomFilter = (): string => {
      for (;;) {
        const n = 1 + Math.floor(rnd() * 4);
        const f = Array.from({ length: n }, () => pick(filterLevels)).join('/');
        if (validTopicFilter(f)) return f;
      }
    };
    const randomTopic = (): string => {
      for (;;) {
        const n = 1 + Math.floor(rnd() * 5);
        const tp = Array.from({ length: n }, () => pick(topicLevels)).join('/');
        if (tp.length > 0) return tp;
      }
    };
    const trie = new TopicTrie<string>();
    const model = new Set<string>();
    let checks = 0;
    let nonEmpty = 0;
    for (let round = 0; round < 40; round++) {
      // churn: add some, delete some
      for (let k = 0; k < 30; k++) {
        const f = randomFilter();
        assert.equal(trie.set(f, f), !model.has(f), `set ${f}`);
        model.add(f);
      }
      for (let k = 0; k < 20; k++) {
        const f = rnd() < 0.7 && model.size > 0 ? pick([...model]) : randomFilter();
        assert.equal(trie.delete(f), model.delete(f), `delete ${f}`);
      }
      assert.equal(trie.size, model.size);
      assertPruned(trie);
      assert.deepEqual(sorted([...trie.entries()].map(([f]) => f)), sorted([...model]));
      for (let k = 0; k < 50; k++) {
        const topic = randomTopic();
        const got = sorted(trie.match(topic));
        const want = sorted([...model].filter((f) => topicMatches(f, topic)));
        assert.deepEqual(got, want, `round ${round}: topic ${JSON.stringify(topic)}`);
        checks++;
        if (want.length > 0) nonEmpty++;
      }
    }
    assert.ok(nonEmpty > checks / 4, `only ${nonEmpty}/${checks} checks had matches`);
    // delete everything: nothing is left
    for (const f of model) assert.equal(trie.delete(f), true);
    assert.equal(trie.size, 0);
    assertPruned(trie);
  });
});

describe('TopicTrie match cache', () => {
  it('returns the cached array until a filter is set or deleted', () => {
    const trie = new TopicTrie<string>();
    trie.set('a/+', 'a/+');
    const first = trie.matchCached('a/b');
    assert.deepEqual(first, ['a/+']);
    assert.equal(trie.matchCached('a/b'), first, 'a hit returns the cached array');
    trie.set('a/#', 'a/#');
    assert.deepEqual(sortedOf(trie.matchCached('a/b')), ['a/#', 'a/+'], 'a new filter is seen');
    const second = trie.matchCached('a/b');
    trie.set('a/#', 'replaced');
    assert.notEqual(trie.matchCached('a/b'), second, 'replacing a value invalidates too');
    trie.delete('a/+');
    assert.deepEqual(trie.matchCached('a/b'), ['replaced'], 'a deleted filter is gone');
    const third = trie.matchCached('a/b');
    trie.invalidate();
    assert.notEqual(trie.matchCached('a/b'), third, 'invalidate() drops every entry');
    assert.deepEqual(trie.matchCached('a/b'), third);
  });

  it('stays bounded with many distinct topics', () => {
    const trie = new TopicTrie<string>();
    trie.set('#', '#');
    for (let i = 0; i < 25_000; i++) trie.matchCached(`t/${i}`);
    const size = (trie as unknown as { cache: Map<string, unknown> }).cache.size;
    assert.ok(size <= 10_000, `match cache grew to ${size}`);
  });
});

function sortedOf(a: string[]): string[] {
  return [...a].sort();
}
