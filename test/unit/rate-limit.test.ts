// The token bucket behind the connection, publish and bytes rate limits, and the limits' syntax.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucket } from '../../node/core/token-bucket.js';
import { parseBytesRateLimit, parsePublishRateLimit } from '../../node/protocol/rate-limits.js';
import { ConnRateLimit } from '../../node/listeners/conn-rate.js';
import { ConfigError } from '../../shared/config.js';

describe('TokenBucket', () => {
  it('holds burst tokens, refills at rate, never beyond burst', () => {
    const b = new TokenBucket(10, 3, 0);
    assert.deepEqual([b.tryTake(0), b.tryTake(0), b.tryTake(0), b.tryTake(0)], [true, true, true, false]);
    assert.equal(b.tryTake(50), false); // half a token
    assert.equal(b.tryTake(100), true);
    assert.equal(b.full(10_000), true);
    assert.deepEqual([b.tryTake(10_000), b.tryTake(10_000), b.tryTake(10_000), b.tryTake(10_000)], [true, true, true, false]);
  });

  it('take() goes into debt and says how long to wait', () => {
    const b = new TokenBucket(10, 2, 0);
    assert.deepEqual([b.take(0), b.take(0), b.take(0), b.take(0)], [0, 0, 100, 200]);
    assert.equal(b.take(200), 100); // paid back to 0 by 200 ms, then one more
    const bytes = new TokenBucket(1000, 1000, 0);
    assert.deepEqual([bytes.take(0, 600), bytes.take(0, 600)], [0, 200]);
  });
});

describe('ConnRateLimit', () => {
  it('per address and per listener, and forgets refilled addresses', () => {
    const r = new ConnRateLimit(0, 2, 0);
    assert.deepEqual([r.admit('a', 0), r.admit('a', 0), r.admit('a', 0), r.admit('b', 0)], [true, true, false, true]);
    r.prune(0);
    assert.equal(r.admit('a', 0), false, 'not refilled: kept');
    r.prune(5000);
    assert.equal(r.admit('a', 5000), true);
    const all = new ConnRateLimit(2, 0, 0);
    assert.deepEqual([all.admit('a', 0), all.admit('b', 0), all.admit('c', 0)], [true, true, false]);
  });
});

describe('parsePublishRateLimit', () => {
  it("reads EMQX's <count>,<seconds>s", () => {
    assert.deepEqual(parsePublishRateLimit('100,10s'), { rate: 10, burst: 100 });
    assert.deepEqual(parsePublishRateLimit(' 5 , 0.5 '), { rate: 10, burst: 5 });
    assert.equal(parsePublishRateLimit(undefined), undefined);
    assert.equal(parsePublishRateLimit(''), undefined);
    for (const bad of ['100', '0,1s', '10,0s', 'a,b', '10,1m', '-1,1', '10KB,1s']) assert.throws(() => parsePublishRateLimit(bad), ConfigError, bad);
  });

  it('bytes take KB, MB and GB (of 1024)', () => {
    assert.deepEqual(parseBytesRateLimit('100KB,10s'), { rate: 10 * 1024, burst: 100 * 1024 });
    assert.deepEqual(parseBytesRateLimit('1mb,1s'), { rate: 1024 * 1024, burst: 1024 * 1024 });
    assert.deepEqual(parseBytesRateLimit('4096,2'), { rate: 2048, burst: 4096 });
    for (const bad of ['1TB,1s', 'KB,1s', '1KB', '0KB,1s']) assert.throws(() => parseBytesRateLimit(bad), ConfigError, bad);
  });
});
