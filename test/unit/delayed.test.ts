// node/router/delayed.ts: `$delayed/<s>/<topic>` scheduled, refused when malformed, an
// ordinary topic while the module is paused, and what was waiting kept across a pause.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DelayedPublish } from '../../node/router/delayed.js';
import { newMessage, type Message } from '../../shared/message.js';
import { sleep } from '../support/wait.js';

const m = (topic: string, payload = 'v'): Message => newMessage({ topic, payload: Buffer.from(payload), qos: 1, retain: false, from: 'c' });

describe('DelayedPublish', () => {
  it('publishes to the inner topic after the delay; refuses malformed ones; leaves other topics', async () => {
    const out: Message[] = [];
    const d = new DelayedPublish((msg) => out.push(msg));
    assert.equal(d.take(m('a/b')), false);
    assert.equal(d.take(m('$delayed/x/a')), 'invalid');
    assert.equal(d.take(m('$delayed/1/a/+')), 'invalid');
    assert.equal(d.take(m('$delayed/0/a/b', 'now')), true);
    assert.equal(d.size, 1);
    await sleep(20);
    assert.deepEqual(
      out.map((x) => [x.topic, x.payload.toString()]),
      [['a/b', 'now']],
    );
    assert.equal(d.size, 0);
    d.stop();
  });

  it('paused: $delayed/... is not taken, and waiting messages are kept until resumed (late ones at once)', async () => {
    const out: Message[] = [];
    const d = new DelayedPublish((msg) => out.push(msg));
    assert.equal(d.take(m('$delayed/0/t', 'kept')), true);
    d.pause();
    assert.equal(d.active, false);
    assert.equal(d.take(m('$delayed/0/t', 'literal')), false, 'an ordinary topic while paused');
    await sleep(30);
    assert.equal(out.length, 0);
    assert.equal(d.size, 1);
    d.resume();
    assert.equal(d.active, true);
    await sleep(20);
    assert.deepEqual(
      out.map((x) => x.payload.toString()),
      ['kept'],
    );
    d.stop();
    assert.equal(d.size, 0);
  });
});
