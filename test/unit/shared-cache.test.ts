// The short shared caches of the gateway: SharedCache (GET /metrics' scrape round),
// KeyedCache (one per URL, bounded) and the Cache-Control a reader accepts one with.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptedAgeMs, KeyedCache, SharedCache } from '../../gateway/shared-cache.js';

describe('SharedCache', () => {
  it('shares one fetch between concurrent readers, reuses it while fresh, fetches again after', async () => {
    let now = 1000;
    let fetches = 0;
    let release!: () => void;
    const cache = new SharedCache(
      () =>
        new Promise<number>((resolve) => {
          fetches++;
          release = () => resolve(fetches);
        }),
      500,
      () => now,
    );
    const readers = Array.from({ length: 10 }, () => cache.get());
    assert.equal(fetches, 1);
    release();
    assert.deepEqual(await Promise.all(readers), Array(10).fill(1));
    now += 499;
    assert.equal(await cache.get(), 1);
    assert.equal(fetches, 1);
    now += 1;
    const next = cache.get();
    assert.equal(fetches, 2);
    release();
    assert.equal(await next, 2);
  });

  it('does not keep a failed fetch; an interval of 0 still shares the running one', async () => {
    let fetches = 0;
    const failing = new SharedCache<number>(async () => {
      fetches++;
      throw new Error('down');
    }, 10_000);
    await assert.rejects(failing.get(), /down/);
    await assert.rejects(failing.get(), /down/);
    assert.equal(fetches, 2);
    let n = 0;
    const uncached = new SharedCache(async () => ++n, 0);
    assert.deepEqual(await Promise.all([uncached.get(), uncached.get()]), [1, 1]);
    assert.equal(await uncached.get(), 2);
  });

  it('gives a reader asking for a younger answer a fresh one, never an older one than the interval', async () => {
    let now = 0;
    let n = 0;
    const cache = new SharedCache(async () => ++n, 1000, () => now);
    assert.equal(await cache.get(), 1);
    now = 400;
    assert.equal(await cache.get(5000), 1, 'a reader accepting more than the interval is held to it');
    assert.equal(await cache.get(300), 2, 'older than the reader accepts');
    assert.equal(cache.idle(), false);
    now = 1400;
    assert.equal(cache.idle(), true);
  });
});

describe('KeyedCache', () => {
  it('shares per key, runs the caller\'s fetch, and fetches past its bound uncached', async () => {
    let now = 0;
    const cache = new KeyedCache<string>(1000, 2, () => now);
    let fetches = 0;
    const fetch = (v: string) => async () => {
      fetches++;
      return v;
    };
    assert.deepEqual(await Promise.all([cache.get('a', 1000, fetch('a1')), cache.get('a', 1000, fetch('a2'))]), ['a1', 'a1']);
    assert.equal(await cache.get('b', 1000, fetch('b1')), 'b1');
    assert.equal(fetches, 2);
    assert.equal(await cache.get('c', 1000, fetch('c1')), 'c1', 'past the bound: answered, not held');
    assert.equal(await cache.get('c', 1000, fetch('c2')), 'c2');
    assert.equal(cache.size, 2);
    // once the held ones are stale they are swept, and room is made
    now = 1000;
    assert.equal(await cache.get('c', 1000, fetch('c3')), 'c3');
    assert.equal(await cache.get('c', 1000, fetch('c4')), 'c3');
    assert.equal(cache.size, 1);
  });
});

describe('acceptedAgeMs', () => {
  it('reads max-age in seconds; no-cache, no-store, absent or malformed accept nothing', () => {
    const table: [string | undefined, number][] = [
      [undefined, 0],
      ['', 0],
      ['max-age=3', 3000],
      ['Max-Age=2, must-revalidate', 2000],
      ['max-age=0', 0],
      ['no-cache', 0],
      ['max-age=5, no-cache', 0],
      ['no-store', 0],
      ['max-age=-1', 0],
      ['max-age=1.5', 0],
      ['max-age="3"', 0],
      ['max-age=99999999999999', 0],
    ];
    for (const [header, want] of table) assert.equal(acceptedAgeMs(header), want, String(header));
  });
});
