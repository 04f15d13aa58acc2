// node/cluster/unreachable-forwards.ts: what a dead node's stored session is owed of a message it never confirmed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { owedCopy } from '../../node/cluster/unreachable-forwards.js';
import type { SessionRecord, StoredSubscription } from '../../node/session/durable/store.js';
import type { Message } from '../../shared/message.js';

const record = (subscriptions: StoredSubscription[]): SessionRecord => ({
  clientid: 'c',
  node: 'dead',
  gen: 'g',
  createdAt: 0,
  expiryInterval: 60,
  disconnectedAt: 1,
  subscriptions,
  awaitingRel: [],
  released: [],
});
const sub = (topic: string, qos: number, more: Partial<StoredSubscription> = {}): StoredSubscription => ({ topic, qos, nl: false, rap: false, rh: 0, ...more });
const msg = (more: Partial<Message> = {}): Message => ({ topic: 'a/b', payload: Buffer.from('x'), qos: 2, retain: true, from: 'pub', fromUsername: undefined, timestamp: 1, expiresAt: undefined, ...more }) as Message;

describe('owedCopy', () => {
  it('one copy at the highest QoS of the matching subscriptions, capped by the message QoS, with that subscription identifier', () => {
    const o = owedCopy(record([sub('a/+', 1, { subId: 7 }), sub('a/#', 2, { subId: 9 }), sub('x', 2)]), msg({ qos: 1 }));
    assert.equal(o?.qos, 1);
    assert.equal(o?.subId, 9);
    assert.deepEqual(o?.subIds, [7, 9], 'every matching identifier, as one MQTT 5 copy carries them');
    assert.equal(o?.retain, false, 'retain only with Retain As Published');
    assert.equal(owedCopy(record([sub('a/b', 2, { rap: true })]), msg())?.retain, true);
  });

  it('nothing for QoS 0, No Local, shared subscriptions, an expired message or no match', () => {
    assert.equal(owedCopy(record([sub('a/b', 0)]), msg()), undefined);
    assert.equal(owedCopy(record([sub('a/b', 2, { nl: true })]), msg({ from: 'c' })), undefined);
    assert.equal(owedCopy(record([sub('$share/g/a/b', 2)]), msg()), undefined);
    assert.equal(owedCopy(record([sub('a/b', 2)]), msg({ expiresAt: Date.now() - 1 })), undefined);
    assert.equal(owedCopy(record([sub('z', 2)]), msg()), undefined);
  });
});
