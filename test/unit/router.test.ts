// node/router/router.ts: subscription counts, route events, shared-group dispatch and the
// match cache.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Router, type DispatchStrategy, type SubOptions, type Subscriber } from '../../node/router/router.js';
import { newMessage, type Message } from '../../shared/message.js';
import { topicMatches } from '../../shared/topic.js';
import { prng } from '../support/prng.js';


class Sub implements Subscriber {
  readonly got: { topic: string; opts: SubOptions }[] = [];
  onDeliver: ((msg: Message) => void) | undefined;
  constructor(
    readonly clientId: string,
    public online = true,
  ) {}
  deliver(msg: Message, opts: SubOptions): void {
    this.got.push({ topic: msg.topic, opts });
    this.onDeliver?.(msg);
  }
}

const opts = (o: Partial<SubOptions> = {}): SubOptions => ({ qos: 0, nl: false, rap: false, rh: 0, subId: undefined, share: undefined, ...o });
const msg = (topic: string) => newMessage({ topic, payload: Buffer.from('x'), qos: 0, retain: false, from: 'pub' });

function newRouter(strategy: DispatchStrategy = 'random') {
  const added: string[] = [];
  const deleted: string[] = [];
  const router = new Router(strategy, { routeAdded: (f) => added.push(f), routeDeleted: (f) => deleted.push(f) });
  return { router, added, deleted };
}

describe('Router subscriptions and route events', () => {
  it('counts subscriptions; routeAdded on the first, routeDeleted on the last subscription of a filter', () => {
    const { router, added, deleted } = newRouter();
    const a = new Sub('a');
    const b = new Sub('b');
    assert.equal(router.subscribe(a, 't/+', opts()), true);
    assert.deepEqual(added, ['t/+']);
    assert.equal(router.subscribe(a, 't/+', opts({ qos: 1 })), false, 'a resubscribe replaces');
    assert.equal(router.subscribe(b, 't/+', opts()), true);
    assert.deepEqual(added, ['t/+'], 'no second routeAdded for a known filter');
    assert.equal(router.subscriptionCount, 2);
    assert.equal(router.filterCount, 1);
    assert.equal(router.subscribe(a, 'other', opts()), true);
    assert.deepEqual(added, ['t/+', 'other']);
    assert.deepEqual(router.filters(), ['other', 't/+']);

    assert.equal(router.unsubscribe('a', 't/+', undefined), true);
    assert.deepEqual(deleted, [], 'b still subscribes');
    assert.equal(router.unsubscribe('a', 't/+', undefined), false, 'already gone');
    assert.equal(router.unsubscribe('nobody', 't/+', undefined), false);
    assert.equal(router.unsubscribe('b', 'no/such/filter', undefined), false);
    assert.equal(router.unsubscribe('b', 't/+', 'g'), false, 'b is not in a shared group');
    assert.deepEqual(deleted, []);
    assert.equal(router.subscriptionCount, 2);
    assert.equal(router.unsubscribe('b', 't/+', undefined), true);
    assert.deepEqual(deleted, ['t/+']);
    assert.equal(router.filterCount, 1);
    assert.equal(router.unsubscribe('a', 'other', undefined), true);
    assert.deepEqual(deleted, ['t/+', 'other']);
    assert.equal(router.subscriptionCount, 0);
    assert.equal(router.filterCount, 0);
    assert.deepEqual(router.filters(), []);
    // and a filter can come back
    router.subscribe(b, 't/+', opts());
    assert.deepEqual(added, ['t/+', 'other', 't/+']);
  });

  it('a plain filter and each shared group on it are separate route keys', () => {
    const { router, added, deleted } = newRouter();
    const a = new Sub('a');
    const b = new Sub('b');
    assert.equal(router.subscribe(a, 's/#', opts({ share: 'g1' })), true);
    assert.equal(router.subscribe(a, 's/#', opts({ share: 'g1', qos: 2 })), false, 'same member again');
    assert.equal(router.subscribe(b, 's/#', opts({ share: 'g1' })), true);
    assert.equal(router.subscribe(a, 's/#', opts({ share: 'g2' })), true, 'another group');
    assert.equal(router.subscribe(a, 's/#', opts()), true, 'and plain');
    assert.deepEqual(added, ['$share/g1/s/#', '$share/g2/s/#', 's/#']);
    assert.deepEqual(router.routeKeys(), ['$share/g1/s/#', '$share/g2/s/#', 's/#']);
    assert.equal(router.subscriptionCount, 4);
    assert.equal(router.sharedSubscriptionCount, 3);

    assert.equal(router.unsubscribe('a', 's/#', 'g3'), false);
    assert.equal(router.unsubscribe('a', 's/#', 'g1'), true);
    assert.equal(router.unsubscribe('a', 's/#', 'g1'), false);
    assert.deepEqual(deleted, [], 'b is still in g1');
    assert.equal(router.sharedSubscriptionCount, 2);
    assert.equal(router.unsubscribe('a', 's/#', 'g2'), true);
    assert.equal(router.unsubscribe('b', 's/#', 'g1'), true);
    assert.deepEqual(deleted, ['$share/g2/s/#', '$share/g1/s/#']);
    assert.equal(router.sharedSubscriptionCount, 0);
    assert.equal(router.filterCount, 1, 'the plain subscription keeps the filter');
    assert.equal(router.unsubscribe('a', 's/#', undefined), true);
    assert.deepEqual(deleted, ['$share/g2/s/#', '$share/g1/s/#', 's/#']);
    assert.equal(router.subscriptionCount, 0);
    assert.equal(router.filterCount, 0);
  });

  it('route events fire exactly on first/last under random churn', () => {
    const rnd = prng(99);
    const { router, added, deleted } = newRouter();
    const filters = ['a', 'a/+', 'a/#', '#', 'b/c'];
    const clients = ['c1', 'c2', 'c3'].map((c) => new Sub(c));
    const groups = [undefined, 'g1', 'g2'];
    const model = new Map<string, Set<string>>(); // filter -> "client|group"
    // members under one route key (the filter, or $share/<group>/<filter>)
    const members = (f: string, g: string | undefined) => [...(model.get(f) ?? [])].filter((k) => k.endsWith(`|${g ?? ''}`)).length;
    for (let i = 0; i < 3000; i++) {
      const f = filters[Math.floor(rnd() * filters.length)]!;
      const c = clients[Math.floor(rnd() * clients.length)]!;
      const g = groups[Math.floor(rnd() * groups.length)];
      const key = `${c.clientId}|${g ?? ''}`;
      const set = model.get(f) ?? new Set();
      const before = { added: added.length, deleted: deleted.length };
      if (rnd() < 0.55) {
        const first = members(f, g) === 0;
        assert.equal(router.subscribe(c, f, opts({ share: g })), !set.has(key));
        set.add(key);
        model.set(f, set);
        assert.equal(added.length - before.added, first ? 1 : 0, `op ${i}: routeAdded`);
      } else {
        const had = set.delete(key);
        assert.equal(router.unsubscribe(c.clientId, f, g), had);
        assert.equal(deleted.length - before.deleted, had && members(f, g) === 0 ? 1 : 0, `op ${i}: routeDeleted`);
        if (set.size === 0) model.delete(f);
      }
      assert.equal(router.filterCount, model.size);
      let total = 0;
      let shared = 0;
      for (const s of model.values()) {
        for (const k of s) {
          total++;
          if (!k.endsWith('|')) shared++;
        }
      }
      assert.equal(router.subscriptionCount, total);
      assert.equal(router.sharedSubscriptionCount, shared);
    }
    assert.deepEqual(router.filters(), [...model.keys()].sort());
  });
});

describe('Router dispatch', () => {
  it('delivers once to every plain subscriber of every matching filter', () => {
    const { router } = newRouter();
    const a = new Sub('a');
    const b = new Sub('b');
    router.subscribe(a, 'x/+', opts({ qos: 1 }));
    router.subscribe(a, 'x/#', opts({ qos: 2 }));
    router.subscribe(b, 'x/y', opts());
    router.subscribe(b, 'z', opts());
    assert.equal(router.dispatch(msg('x/y')), 3);
    assert.deepEqual(a.got.map((g) => g.opts.qos).sort(), [1, 2], 'one delivery per matching filter, with its options');
    assert.equal(b.got.length, 1);
    assert.equal(router.dispatch(msg('nothing')), 0);
    assert.equal(router.dispatch(msg('$SYS/x')), 0);
  });

  it('a replaced subscription is delivered with its new options', () => {
    const { router } = newRouter();
    const a = new Sub('a');
    router.subscribe(a, 't', opts({ qos: 0 }));
    router.dispatch(msg('t'));
    router.subscribe(a, 't', opts({ qos: 2, subId: 7 }));
    router.dispatch(msg('t'));
    assert.deepEqual(
      a.got.map((g) => [g.opts.qos, g.opts.subId]),
      [
        [0, undefined],
        [2, 7],
      ],
    );
  });

  it('one member per shared group per message, each group independently', () => {
    const { router } = newRouter('round_robin');
    const g1 = ['a', 'b', 'c'].map((c) => new Sub(c));
    const g2 = ['d', 'e'].map((c) => new Sub(c));
    const plain = new Sub('p');
    for (const s of g1) router.subscribe(s, 'job/#', opts({ share: 'g1' }));
    for (const s of g2) router.subscribe(s, 'job/+', opts({ share: 'g2' }));
    router.subscribe(plain, 'job/1', opts());
    for (let i = 0; i < 60; i++) assert.equal(router.dispatch(msg('job/1')), 3);
    assert.equal(g1.reduce((n, s) => n + s.got.length, 0), 60);
    assert.equal(g2.reduce((n, s) => n + s.got.length, 0), 60);
    assert.equal(plain.got.length, 60);
  });

  it('round_robin spreads evenly', () => {
    const { router } = newRouter('round_robin');
    const members = ['a', 'b', 'c', 'd'].map((c) => new Sub(c));
    for (const s of members) router.subscribe(s, 'rr', opts({ share: 'g' }));
    for (let i = 0; i < 400; i++) router.dispatch(msg('rr'));
    assert.deepEqual(
      members.map((s) => s.got.length),
      [100, 100, 100, 100],
    );
    // in turn: never the same member twice in a row
    const order: string[] = [];
    for (const s of members) s.onDeliver = () => order.push(s.clientId);
    for (let i = 0; i < 8; i++) router.dispatch(msg('rr'));
    for (let i = 1; i < order.length; i++) assert.notEqual(order[i], order[i - 1]);
    assert.equal(new Set(order.slice(0, 4)).size, 4);
  });

  it('random spreads over many messages (seeded Math.random)', (t) => {
    const rnd = prng(4242);
    t.mock.method(Math, 'random', rnd);
    const { router } = newRouter('random');
    const members = ['a', 'b', 'c', 'd', 'e'].map((c) => new Sub(c));
    for (const s of members) router.subscribe(s, 'rand/#', opts({ share: 'g' }));
    const n = 10_000;
    for (let i = 0; i < n; i++) assert.equal(router.dispatch(msg('rand/x')), 1);
    const counts = members.map((s) => s.got.length);
    assert.equal(
      counts.reduce((x, y) => x + y, 0),
      n,
    );
    // expected 2000 each, sd ≈ 40: ± 300 is far outside chance but catches a skewed pick
    for (const c of counts) assert.ok(c > 1700 && c < 2300, `uneven random spread: ${counts.join(', ')}`);
  });

  it('random spread works with the real Math.random too', () => {
    const { router } = newRouter('random');
    const members = ['a', 'b', 'c'].map((c) => new Sub(c));
    for (const s of members) router.subscribe(s, 'r', opts({ share: 'g' }));
    for (let i = 0; i < 3000; i++) router.dispatch(msg('r'));
    for (const s of members) assert.ok(s.got.length > 700, `member ${s.clientId} got ${s.got.length} of 3000`);
  });

  for (const strategy of ['random', 'round_robin'] as DispatchStrategy[]) {
    it(`${strategy}: prefers online members, falls back to an offline one`, () => {
      const { router } = newRouter(strategy);
      const on = new Sub('on', true);
      const offs = [new Sub('off1', false), new Sub('off2', false), new Sub('off3', false)];
      router.subscribe(offs[0]!, 'p', opts({ share: 'g' }));
      router.subscribe(on, 'p', opts({ share: 'g' }));
      router.subscribe(offs[1]!, 'p', opts({ share: 'g' }));
      router.subscribe(offs[2]!, 'p', opts({ share: 'g' }));
      for (let i = 0; i < 200; i++) router.dispatch(msg('p'));
      assert.equal(on.got.length, 200);
      for (const o of offs) assert.equal(o.got.length, 0);
      // everyone offline: still delivered (queued by the session), to one member
      on.online = false;
      for (let i = 0; i < 100; i++) assert.equal(router.dispatch(msg('p')), 1);
      assert.equal(on.got.length + offs.reduce((n, s) => n + s.got.length, 0), 300);
      // the group member that left gets nothing more
      router.unsubscribe('on', 'p', 'g');
      on.online = true;
      const before = on.got.length;
      for (let i = 0; i < 50; i++) router.dispatch(msg('p'));
      assert.equal(on.got.length, before);
    });
  }

  it('setStrategy switches the dispatch strategy', () => {
    const { router } = newRouter('random');
    router.setStrategy('round_robin');
    const members = ['a', 'b'].map((c) => new Sub(c));
    for (const s of members) router.subscribe(s, 'x', opts({ share: 'g' }));
    for (let i = 0; i < 10; i++) router.dispatch(msg('x'));
    assert.deepEqual(
      members.map((s) => s.got.length),
      [5, 5],
    );
  });

  it('a delivery that unsubscribes someone does not break the dispatch', () => {
    const { router } = newRouter();
    const a = new Sub('a');
    const b = new Sub('b');
    const c = new Sub('c');
    router.subscribe(a, 'u', opts());
    router.subscribe(b, 'u', opts());
    router.subscribe(c, 'u', opts());
    a.onDeliver = () => {
      router.unsubscribe('b', 'u', undefined);
      router.unsubscribe('a', 'u', undefined);
    };
    router.dispatch(msg('u'));
    assert.equal(a.got.length, 1);
    assert.equal(c.got.length, 1, 'the others still get this message');
    router.dispatch(msg('u'));
    assert.equal(a.got.length, 1);
    assert.equal(b.got.length <= 1, true);
    assert.equal(c.got.length, 2);
  });
});

describe('Router match cache', () => {
  it('is invalidated when filters come and go, not by members joining a filter', () => {
    const { router } = newRouter();
    const a = new Sub('a');
    const b = new Sub('b');
    assert.deepEqual(router.match('c/d'), []);
    router.subscribe(a, 'c/+', opts());
    assert.deepEqual(
      router.match('c/d').map((e) => e.filter),
      ['c/+'],
      'a new filter is seen',
    );
    const cached = router.match('c/d');
    assert.equal(router.match('c/d'), cached, 'a hit returns the cached array');
    router.subscribe(b, 'c/+', opts());
    assert.equal(router.dispatch(msg('c/d')), 2, 'a member joining an existing filter is reached');
    router.subscribe(a, 'c/#', opts());
    assert.deepEqual(router.match('c/d').map((e) => e.filter).sort(), ['c/#', 'c/+']);
    router.unsubscribe('a', 'c/+', undefined);
    router.unsubscribe('b', 'c/+', undefined);
    assert.deepEqual(
      router.match('c/d').map((e) => e.filter),
      ['c/#'],
      'a filter going away is seen',
    );
    router.unsubscribe('a', 'c/#', undefined);
    assert.deepEqual(router.match('c/d'), []);
    assert.equal(router.dispatch(msg('c/d')), 0);
    a.got.length = 0;
    b.got.length = 0;
    // a filter removed and re-created is a new entry: only its new subscriber gets messages
    router.subscribe(a, 'c/+', opts());
    router.dispatch(msg('c/d'));
    router.unsubscribe('a', 'c/+', undefined);
    router.subscribe(b, 'c/+', opts());
    router.dispatch(msg('c/d'));
    assert.equal(a.got.length, 1);
    assert.equal(b.got.length, 1);
  });

  it('seeded churn: dispatch always reaches exactly the current matching subscriptions', () => {
    const rnd = prng(7);
    const { router } = newRouter();
    const filters = ['a', 'a/+', 'a/#', '#', '+/b', 'a/b', '$SYS/#', '+'];
    const topics = ['a', 'a/b', 'a/c', 'b', 'x/b', '$SYS/a', 'a/b/c'];
    const clients = Array.from({ length: 4 }, (_, i) => new Sub(`c${i}`));
    const model = new Map<string, Set<string>>();
    for (let i = 0; i < 2000; i++) {
      const f = filters[Math.floor(rnd() * filters.length)]!;
      const c = clients[Math.floor(rnd() * clients.length)]!;
      if (rnd() < 0.5) {
        router.subscribe(c, f, opts());
        model.set(f, (model.get(f) ?? new Set()).add(c.clientId));
      } else {
        router.unsubscribe(c.clientId, f, undefined);
        model.get(f)?.delete(c.clientId);
        if (model.get(f)?.size === 0) model.delete(f);
      }
      const topic = topics[Math.floor(rnd() * topics.length)]!;
      for (const s of clients) s.got.length = 0;
      const n = router.dispatch(msg(topic));
      const want = new Map<string, number>();
      let total = 0;
      for (const [flt, set] of model) {
        if (!topicMatches(flt, topic)) continue;
        for (const cid of set) {
          want.set(cid, (want.get(cid) ?? 0) + 1);
          total++;
        }
      }
      assert.equal(n, total, `op ${i}: ${topic}`);
      for (const s of clients) assert.equal(s.got.length, want.get(s.clientId) ?? 0, `op ${i}: ${s.clientId} on ${topic}`);
    }
  });

  it('stays bounded with many distinct topics', () => {
    const { router } = newRouter();
    router.subscribe(new Sub('a'), '#', opts());
    for (let i = 0; i < 25_000; i++) router.match(`t/${i}`);
    // the cache is the trie's own (node/router/trie.ts)
    const size = (router as unknown as { trie: { cache: Map<string, unknown> } }).trie.cache.size;
    assert.ok(size <= 10_000, `match cache grew to ${size}`);
  });
});


describe('Router overlapping subscriptions of one client', () => {
  class OneCopy extends Sub {
    readonly oneCopy = true;
    dispatchMark = 0;
  }

  it('an MQTT 5 subscriber gets one copy (highest QoS, every identifier); an MQTT 3.x one a copy per subscription', () => {
    const { router } = newRouter();
    const v5 = new OneCopy('v5');
    const v3 = new Sub('v3');
    for (const s of [v5, v3]) {
      router.subscribe(s, 'a/+', opts({ qos: 0, subId: 1 }));
      router.subscribe(s, 'a/#', opts({ qos: 2, subId: 2 }));
      router.subscribe(s, 'a/b', opts({ qos: 1 }));
    }
    assert.equal(router.dispatch(msg('a/b')), 1 + 3);
    // (their order is not significant [MQTT-3.3.4-4])
    assert.deepEqual(v5.got.map((g) => [g.opts.qos, [...g.opts.subIds!].sort()]), [[2, [1, 2]]]);
    assert.equal(v3.got.length, 3);
    // matched by one filter only: its own options, as they are
    v5.got.length = 0;
    router.dispatch(msg('a/c/d'));
    assert.deepEqual(v5.got.map((g) => [g.opts.qos, g.opts.subId, g.opts.subIds]), [[2, 2, undefined]]);
  });

  it("No Local subscriptions take no part for the subscriber's own message; all No Local leaves it to the session", () => {
    const { router } = newRouter();
    const s = new OneCopy('me');
    router.subscribe(s, 'n/+', opts({ qos: 2, nl: true, subId: 1 }));
    router.subscribe(s, 'n/#', opts({ qos: 1, rap: true, subId: 2 }));
    router.dispatch(newMessage({ topic: 'n/x', payload: Buffer.from('x'), qos: 2, retain: false, from: 'me' }));
    router.dispatch(newMessage({ topic: 'n/x', payload: Buffer.from('x'), qos: 2, retain: false, from: 'other' }));
    assert.deepEqual(
      s.got.map((g) => [g.opts.qos, g.opts.nl, g.opts.rap, g.opts.subIds ? [...g.opts.subIds].sort() : g.opts.subId]),
      [
        [1, false, true, 2],
        [2, false, true, [1, 2]],
      ],
    );
    const all = new OneCopy('all-nl');
    router.subscribe(all, 'm/+', opts({ nl: true }));
    router.subscribe(all, 'm/#', opts({ nl: true }));
    router.dispatch(newMessage({ topic: 'm/x', payload: Buffer.from('x'), qos: 0, retain: false, from: 'all-nl' }));
    assert.deepEqual(all.got.map((g) => g.opts.nl), [true]);
  });
});
