import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../shared/config.js';
import { parseAutoSubscribe, topicFor } from '../../node/features/auto-subscribe.js';

test('auto-subscribe topics: %c and %u whole levels, %u skipped without a username', () => {
  assert.equal(topicFor('client/%c', 'c1', 'u1'), 'client/c1');
  assert.equal(topicFor('user/%u/+/%c', 'c1', 'u1'), 'user/u1/+/c1');
  assert.equal(topicFor('user/%u', 'c1', undefined), undefined);
  assert.equal(topicFor('client/%c', 'c1', undefined), 'client/c1');
  // EMQX substitutes whole levels only
  assert.equal(topicFor('client/x%c', 'c1', 'u1'), 'client/x%c');
  assert.equal(topicFor('plain/t', 'c1', 'u1'), 'plain/t');
});

test('auto-subscribe configuration: defaults, checks with positions', () => {
  assert.deepEqual(parseAutoSubscribe(undefined), []);
  assert.deepEqual(parseAutoSubscribe('[{"topic":"client/%c","qos":1},{"topic":"a/#","qos":2,"nl":1,"rap":true,"rh":2}]'), [
    { topic: 'client/%c', qos: 1, nl: false, rap: false, rh: 0 },
    { topic: 'a/#', qos: 2, nl: true, rap: true, rh: 2 },
  ]);
  for (const [raw, msg] of [
    ['[{"topic":"a/#/b"}]', /autoSubscribe\[0\]\.topic/],
    ['[{"topic":"a"},{"topic":"b","qos":3}]', /autoSubscribe\[1\]\.qos/],
    ['[{"topic":"a","rh":"x"}]', /autoSubscribe\[0\]\.rh/],
    ['{"topic":"a"}', /JSON array/],
  ] as const) {
    assert.throws(() => parseAutoSubscribe(raw), (err: Error) => err instanceof ConfigError && msg.test(err.message), raw);
  }
});
