// node/rpc/subscriptions.ts: every SubscriptionQuery field against subscription rows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFiltered, matchSubscription } from '../../node/rpc/subscriptions.js';
import type { SubscriptionQuery, SubscriptionRow } from '../../shared/api/subscriptions.js';

const sub = (topic: string, qos = 1, clientid = 'c1'): SubscriptionRow => ({ node: 'n1@127.0.0.1', clientid, topic, qos });

type Case = [row: SubscriptionRow, q: SubscriptionQuery, expected: boolean];

const cases: Case[] = [
  [sub('a/b'), {}, true],
  // clientid
  [sub('a/b'), { clientid: 'c1' }, true],
  [sub('a/b'), { clientid: 'c2' }, false],
  [sub('a/b'), { clientid: 'c' }, false],
  // topic: exact, as subscribed
  [sub('a/b'), { topic: 'a/b' }, true],
  [sub('a/+'), { topic: 'a/+' }, true],
  [sub('a/+'), { topic: 'a/b' }, false],
  [sub('a/b'), { topic: 'a/+' }, false],
  // topic: without the share prefix, as EMQX stores shared subscriptions
  [sub('$share/g/a/b'), { topic: '$share/g/a/b' }, false],
  [sub('$share/g/a/b'), { topic: 'a/b' }, true],
  [sub('a/b'), { topic: '$share/g/a/b' }, false],
  [sub('$queue/a/b'), { topic: '$queue/a/b' }, false],
  [sub('$queue/a/b'), { topic: 'a/b' }, true],
  // qos
  [sub('a/b', 1), { qos: 1 }, true],
  [sub('a/b', 1), { qos: 0 }, false],
  [sub('a/b', 0), { qos: 0 }, true],
  [sub('a/b', 2), { qos: 2 }, true],
  // share: the group name
  [sub('$share/g1/a/b'), { share: 'g1' }, true],
  [sub('$share/g1/a/b'), { share: 'g2' }, false],
  [sub('$share/g1/a/b'), { share: 'g' }, false],
  [sub('a/b'), { share: 'g1' }, false],
  [sub('$queue/a/b'), { share: '$queue' }, true],
  [sub('$queue/a/b'), { share: 'queue' }, false],
  [sub('$share/g1/a/b'), { share: '$queue' }, false],
  // _match_topic: a filter the subscribed topic (without share prefix), read as a name, matches
  [sub('a/b'), { _match_topic: 'a/b' }, true],
  [sub('a/b'), { _match_topic: 'a/c' }, false],
  [sub('a/+'), { _match_topic: 'a/b' }, false],
  [sub('a/b'), { _match_topic: 'a/+' }, true],
  [sub('a/+'), { _match_topic: 'a/+' }, true],
  [sub('a/+'), { _match_topic: 'a/#' }, true],
  [sub('a/+'), { _match_topic: 'a/b/c' }, false],
  [sub('a/#'), { _match_topic: 'a/b/c' }, false],
  [sub('a/b/c'), { _match_topic: 'a/#' }, true],
  [sub('a'), { _match_topic: 'a/#' }, true],
  [sub('#'), { _match_topic: 'x/y' }, false],
  [sub('x/y'), { _match_topic: '#' }, true],
  [sub('$SYS/x'), { _match_topic: '#' }, false],
  [sub('$SYS/x'), { _match_topic: '+/x' }, false],
  [sub('$SYS/x'), { _match_topic: '$SYS/#' }, true],
  [sub('$share/g/a/b'), { _match_topic: 'a/+' }, true],
  [sub('$share/g/a/b'), { _match_topic: 'b/+' }, false],
  [sub('$queue/a/b'), { _match_topic: 'a/#' }, true],
  [sub('$share/g/$SYS/x'), { _match_topic: '#' }, false],
  // combined: every condition must hold
  [sub('$share/g/a/z', 1, 'c1'), { clientid: 'c1', topic: 'a/z', qos: 1, share: 'g', _match_topic: 'a/+' }, true],
  [sub('$share/g/a/z', 1, 'c1'), { clientid: 'c1', topic: 'a/z', qos: 1, share: 'g', _match_topic: 'z/+' }, false],
  [sub('$share/g/a/+', 1, 'c1'), { clientid: 'c1', topic: 'a/+', qos: 2, share: 'g' }, false],
  [sub('a/b', 1, 'c1'), { clientid: 'c2', topic: 'a/b' }, false],
];

describe('matchSubscription', () => {
  for (const [row, q, expected] of cases) {
    it(`${row.clientid} ${row.topic} q${row.qos} ~ ${JSON.stringify(q)} → ${expected}`, () => {
      assert.equal(matchSubscription(row, q), expected);
    });
  }
});

describe('isFiltered', () => {
  it('is false without conditions', () => {
    assert.equal(isFiltered({}), false);
    assert.equal(isFiltered({ topic: undefined }), false);
  });
  it('is true for each field set, falsy values included', () => {
    for (const q of [{ clientid: '' }, { topic: 't' }, { qos: 0 }, { share: '' }, { _match_topic: 't' }] as SubscriptionQuery[]) {
      assert.equal(isFiltered(q), true, JSON.stringify(q));
    }
  });
});
