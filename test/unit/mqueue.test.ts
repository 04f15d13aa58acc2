// node/session/mqueue.ts: a bounded FIFO ring that drops the oldest when full.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MQueue, type Pending } from '../../node/session/mqueue.js';
import { newMessage } from '../../shared/message.js';
import { prng } from '../support/prng.js';


const p = (n: number): Pending => ({ msg: newMessage({ topic: `t/${n}`, payload: Buffer.from(String(n)), qos: 1, retain: false, from: 'c' }), qos: 1, retain: false, opts: undefined });
const id = (x: Pending | undefined) => (x === undefined ? undefined : Number(x.msg.payload.toString()));

describe('MQueue', () => {
  it('is FIFO across growth and wrap-around', () => {
    const q = new MQueue(0);
    assert.equal(q.length, 0);
    assert.equal(q.peek(), undefined);
    assert.equal(q.shift(), undefined);
    let next = 0;
    let expect = 0;
    // interleave so the head moves while the ring grows
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < round + 3; i++) assert.equal(q.push(p(next++)), undefined);
      for (let i = 0; i < 2; i++) {
        assert.equal(id(q.peek()), expect);
        assert.equal(id(q.shift()), expect++);
      }
    }
    assert.equal(q.length, next - expect);
    for (const x of q.drain()) assert.equal(id(x), expect++);
    assert.equal(expect, next);
    assert.equal(q.length, 0);
    assert.equal(q.dropped, 0);
  });

  it('when full drops the oldest and hands it back', () => {
    const q = new MQueue(3);
    for (let i = 0; i < 3; i++) assert.equal(q.push(p(i)), undefined);
    assert.equal(id(q.push(p(3))), 0);
    assert.equal(id(q.push(p(4))), 1);
    assert.equal(q.length, 3);
    assert.equal(q.dropped, 2);
    assert.deepEqual(q.drain().map(id), [2, 3, 4]);
    // after draining it fills up again to max
    for (let i = 10; i < 13; i++) assert.equal(q.push(p(i)), undefined);
    assert.equal(id(q.push(p(13))), 10);
    assert.equal(q.dropped, 3);
  });

  it('max 0 means no limit', () => {
    const q = new MQueue(0);
    for (let i = 0; i < 10_000; i++) assert.equal(q.push(p(i)), undefined);
    assert.equal(q.length, 10_000);
    assert.equal(id(q.peek()), 0);
  });

  it('shift releases its slot (no lingering references)', () => {
    const q = new MQueue(0);
    for (let i = 0; i < 8; i++) q.push(p(i));
    for (let i = 0; i < 8; i++) q.shift();
    const items = (q as unknown as { items: unknown[] }).items;
    assert.ok(items.every((x) => x === undefined));
  });

  it('seeded random push/shift against an array model', () => {
    const rnd = prng(5);
    for (const max of [0, 1, 2, 7, 100]) {
      const q = new MQueue(max);
      const model: number[] = [];
      let dropped = 0;
      let n = 0;
      for (let i = 0; i < 5000; i++) {
        const r = rnd();
        if (r < 0.55) {
          const d = q.push(p(n));
          model.push(n++);
          if (max > 0 && model.length > max) {
            assert.equal(id(d), model.shift(), `max ${max} op ${i}: dropped`);
            dropped++;
          } else assert.equal(d, undefined);
        } else if (r < 0.95) {
          assert.equal(id(q.shift()), model.shift(), `max ${max} op ${i}: shift`);
        } else if (r < 0.98) {
          assert.equal(id(q.peek()), model[0]);
        } else {
          assert.deepEqual(q.drain().map(id), model.splice(0));
        }
        assert.equal(q.length, model.length);
        assert.equal(q.dropped, dropped);
        if (max > 0) assert.ok(q.length <= max);
      }
    }
  });
});
