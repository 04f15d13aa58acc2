// node/router/retained.ts: set/replace/delete/match with wildcards and `$` rules, expiry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetainedStore } from '../../node/router/retained.js';
import { newMessage, type Message } from '../../shared/message.js';
import { topicMatches, validTopicFilter } from '../../shared/topic.js';
import { prng } from '../support/prng.js';


const m = (topic: string, payload = 'v', expiresAt?: number): Message => newMessage({ topic, payload: Buffer.from(payload), qos: 1, retain: true, from: 'c', expiresAt });
const topicsOf = (ms: Message[]) => ms.map((x) => x.topic).sort();

describe('RetainedStore', () => {
  it('set, replace, get, delete, with the count reported', () => {
    const counts: number[] = [];
    const r = new RetainedStore((n) => counts.push(n));
    r.set(m('a/b', 'one'));
    r.set(m('a/b', 'two'));
    assert.equal(r.size, 1, 'replacing keeps one message per topic');
    assert.equal(r.get('a/b')!.payload.toString(), 'two');
    r.set(m('a'));
    r.set(m('a/b/c'));
    assert.equal(r.size, 3);
    assert.equal(r.get('a/b/c/d'), undefined);
    assert.equal(r.get('x'), undefined);
    assert.deepEqual(counts, [1, 2, 3]);
    assert.equal(r.delete('a/b'), true);
    assert.equal(r.delete('a/b'), false);
    assert.equal(r.delete('nope'), false);
    assert.equal(r.get('a/b/c')!.topic, 'a/b/c', 'a child survives its parent');
    assert.equal(r.size, 2);
    // an empty payload deletes [MQTT-3.3.1-10]
    r.set(m('a', ''));
    assert.equal(r.get('a'), undefined);
    r.set(m('never/set', ''));
    assert.equal(r.size, 1);
    assert.deepEqual(counts, [1, 2, 3, 2, 1]);
    assert.deepEqual(topicsOf([...r.all()]), ['a/b/c']);
    r.delete('a/b/c');
    assert.equal(r.size, 0);
    assert.deepEqual([...r.all()], []);
    const root = (r as unknown as { root: { children?: Map<string, unknown> } }).root;
    assert.equal(root.children?.size ?? 0, 0, 'empty branches are pruned');
  });

  const topics = ['a', 'a/b', 'a/b/c', 'a/c', 'b', '/', '/x', 'a/', '$SYS/uptime', '$SYS/x/y', '$other', 'x/$SYS'];
  const table: [string, string[]][] = [
    ['#', ['a', 'a/b', 'a/b/c', 'a/c', 'b', '/', '/x', 'a/', 'x/$SYS']],
    ['+', ['a', 'b']],
    ['+/+', ['a/b', 'a/c', '/', '/x', 'a/', 'x/$SYS']],
    ['a/#', ['a', 'a/b', 'a/b/c', 'a/c', 'a/']],
    ['a/+', ['a/b', 'a/c', 'a/']],
    ['a/+/c', ['a/b/c']],
    ['+/b', ['a/b']],
    ['+/#', ['a', 'a/b', 'a/b/c', 'a/c', 'b', '/', '/x', 'a/', 'x/$SYS']],
    ['/#', ['/', '/x']],
    ['a/b', ['a/b']],
    ['nothing/#', []],
    ['$SYS/#', ['$SYS/uptime', '$SYS/x/y']],
    ['$SYS/+', ['$SYS/uptime']],
    ['$other', ['$other']],
    ['+/$SYS', ['x/$SYS']],
  ];
  const store = new RetainedStore();
  for (const t of topics) store.set(m(t));
  for (const [filter, expected] of table) {
    it(`match ${JSON.stringify(filter)}`, () => {
      assert.deepEqual(topicsOf(store.match(filter)), [...expected].sort());
      assert.deepEqual(topicsOf(store.match(filter)), topics.filter((t) => topicMatches(filter, t)).sort(), 'agrees with topicMatches');
    });
  }

  it('expired messages are not returned and are removed', () => {
    const counts: number[] = [];
    const r = new RetainedStore((n) => counts.push(n));
    const now = 1_000_000;
    r.set(m('e/1', 'x', now - 1));
    r.set(m('e/2', 'x', now));
    r.set(m('e/3', 'x', now + 1));
    r.set(m('e/4', 'x'));
    assert.equal(r.size, 4);
    assert.deepEqual(topicsOf(r.match('e/#', now)), ['e/3', 'e/4']);
    assert.equal(r.size, 2, 'the expired ones are dropped on the way');
    assert.equal(r.get('e/1'), undefined);
    assert.deepEqual(topicsOf(r.match('e/3', now + 1)), []);
    assert.equal(r.size, 1);
    assert.deepEqual(topicsOf(r.match('+/+', now + 1_000_000)), ['e/4']);
    assert.deepEqual(counts.at(-1), 1);
  });

  it('expiry while walking many siblings and parents', () => {
    const r = new RetainedStore();
    const now = 5000;
    for (let i = 0; i < 50; i++) {
      r.set(m(`p/${i}`, 'x', i % 2 === 0 ? now - 1 : undefined));
      r.set(m(`p/${i}/q`, 'x', now - 1));
    }
    const got = r.match('p/#', now);
    assert.equal(got.length, 25);
    assert.equal(r.size, 25);
    assert.deepEqual(topicsOf(r.match('#', now)), topicsOf(got));
  });

  it('seeded random topics and filters: match equals brute-force topicMatches', () => {
    const rnd = prng(31337);
    const levels = ['a', 'b', '', '$SYS', '$x', 'c'];
    const flevels = [...levels, '+', '+', '#'];
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const r = new RetainedStore();
    const model = new Map<string, Message>();
    let nonEmpty = 0;
    for (let round = 0; round < 30; round++) {
      for (let k = 0; k < 25; k++) {
        const t = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(levels)).join('/');
        if (t.length === 0) continue;
        const del = rnd() < 0.25;
        const msg = m(t, del ? '' : `v${round}.${k}`);
        r.set(msg);
        if (del) model.delete(t);
        else model.set(t, msg);
      }
      assert.equal(r.size, model.size);
      for (let k = 0; k < 40; k++) {
        const f = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(flevels)).join('/');
        if (!validTopicFilter(f)) continue;
        const got = r.match(f).sort((x, y) => (x.topic < y.topic ? -1 : 1));
        const want = [...model.values()].filter((x) => topicMatches(f, x.topic)).sort((x, y) => (x.topic < y.topic ? -1 : 1));
        assert.deepEqual(
          got.map((x) => [x.topic, x.payload.toString()]),
          want.map((x) => [x.topic, x.payload.toString()]),
          `round ${round} filter ${JSON.stringify(f)}`,
        );
        if (want.length) nonEmpty++;
      }
    }
    assert.ok(nonEmpty > 200, `only ${nonEmpty} filters matched anything`);
  });
  it('with the retainer unloaded, match serves nothing; loaded again, what was stored meanwhile is served', () => {
    const r = new RetainedStore();
    r.set(m('a/b'));
    r.enabled = false;
    assert.deepEqual(r.match('a/#'), []);
    r.set(m('a/c')); // the replica keeps following the cluster
    r.enabled = true;
    assert.deepEqual(topicsOf(r.match('a/#')), ['a/b', 'a/c']);
  });
});
