// Client-chosen delays beyond Node's 2^31-1 ms timer limit (about 24.8 days) must hold.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { LongTimer } from '../../node/core/long-timer.js';

const DAY = 24 * 3600 * 1000;

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
afterEach(() => mock.timers.reset());

test('a 30-day timer does not fire at 24.9 days, and fires at 30 days', () => {
  let fired = 0;
  new LongTimer(() => fired++, 30 * DAY);
  mock.timers.tick(24.9 * DAY);
  assert.equal(fired, 0);
  mock.timers.tick(5 * DAY);
  assert.equal(fired, 0, 'still 0.1 day to go');
  mock.timers.tick(0.1 * DAY);
  assert.equal(fired, 1);
  mock.timers.tick(60 * DAY);
  assert.equal(fired, 1, 'once');
});

test('the longest MQTT interval, 0xFFFFFFFE seconds (136 years), waits in steps', () => {
  let fired = 0;
  new LongTimer(() => fired++, 0xfffffffe * 1000);
  for (let i = 0; i < 200; i++) mock.timers.tick(20 * DAY);
  assert.equal(fired, 0);
});

test('a short timer fires on time, and cancel() stops a long one between steps', () => {
  let short = 0;
  let long = 0;
  new LongTimer(() => short++, 1500);
  const t = new LongTimer(() => long++, 40 * DAY);
  mock.timers.tick(1499);
  assert.equal(short, 0);
  mock.timers.tick(1);
  assert.equal(short, 1);
  mock.timers.tick(25 * DAY); // past the first step
  t.cancel();
  mock.timers.tick(30 * DAY);
  assert.equal(long, 0);
});
