// The per-address count of failed logins behind the API's lock-out, on a clock the test moves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthFailures } from '../../gateway/auth-failures.js';

function tracker(maxFailures = 3, windowMs = 60_000, maxTracked = 100) {
  const clock = { now: 1_000_000 };
  return { clock, f: new AuthFailures({ maxFailures, windowMs, maxTracked }, () => clock.now) };
}

test('locks an address out after maxFailures within the window, until the window ends', () => {
  const { clock, f } = tracker();
  f.failed('a');
  clock.now += 10_000;
  f.failed('a');
  assert.equal(f.lockedFor('a'), 0, 'two failures: not yet');
  clock.now += 10_000;
  f.failed('a');
  assert.equal(f.lockedFor('a'), 40_000, 'locked until 60 s after the first failure');
  clock.now += 39_999;
  assert.equal(f.lockedFor('a'), 1);
  clock.now += 1;
  assert.equal(f.lockedFor('a'), 0, 'the window has passed');
  assert.equal(f.size, 0, 'and is forgotten');
  f.failed('a');
  assert.equal(f.lockedFor('a'), 0, 'a new window starts from zero');
});

test('failures spread wider than the window never lock', () => {
  const { clock, f } = tracker(3, 1000);
  for (let i = 0; i < 20; i++) {
    f.failed('slow');
    assert.equal(f.lockedFor('slow'), 0);
    clock.now += 500;
    if (i % 2 === 1) clock.now += 1; // the third of each window falls into the next one
  }
});

test('other addresses are not affected', () => {
  const { f } = tracker(2);
  f.failed('a');
  f.failed('a');
  assert.ok(f.lockedFor('a') > 0);
  assert.equal(f.lockedFor('b'), 0);
  f.failed('b');
  assert.equal(f.lockedFor('b'), 0);
});

test('0 failures: nothing is counted', () => {
  const { f } = tracker(0);
  for (let i = 0; i < 100; i++) f.failed('a');
  assert.equal(f.lockedFor('a'), 0);
  assert.equal(f.size, 0);
});

test('remembers at most maxTracked addresses: expired windows go first, then the oldest', () => {
  const { clock, f } = tracker(2, 1000, 3);
  f.failed('old');
  clock.now += 600;
  f.failed('x');
  f.failed('x');
  f.failed('y');
  assert.equal(f.size, 3);
  clock.now += 500; // old's window has ended, x's and y's have not
  f.failed('z');
  assert.equal(f.size, 3);
  assert.ok(f.lockedFor('x') > 0, 'x is still locked: only the expired window was dropped');
  f.failed('w'); // full of live windows: the oldest (x) goes
  assert.equal(f.size, 3);
  assert.equal(f.lockedFor('x'), 0);
  for (let i = 0; i < 10_000; i++) f.failed(`flood-${i}`);
  assert.equal(f.size, 3, 'bounded under a flood of addresses');
});
