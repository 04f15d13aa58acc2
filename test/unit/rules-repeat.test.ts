// A rule whose run depends only on a message's topic, QoS and publisher repeats its last
// run for the next such message (node/rules/repeat.ts), and every rule's matched count is
// added in bulk: what the counters, the broker's metrics and subscribers see stays what
// running every rule on every message gives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { composeBroker } from '../../node/core/compose.js';
import type { Connection } from '../../node/protocol/connection.js';
import type { SubOptions } from '../../node/router/router.js';
import { doNothingAction, republishAction } from '../../node/rules/actions/builtin.js';
import type { ActionHost } from '../../node/rules/contracts.js';
import { repeatable } from '../../node/rules/repeat.js';
import { compileSql } from '../../node/rules/sql/compile.js';
import { Session } from '../../node/session/session.js';
import type { RuleRecord } from '../../shared/api/rules.js';
import { loadConfig } from '../../shared/config.js';
import { newMessage } from '../../shared/message.js';

const broker = () => composeBroker(loadConfig({ STARLING_MQTT_PORT: '0', STARLING_WS_PORT: '-1' }), pino({ level: 'silent' }));
const rule = (id: string, rawsql: string, actions: RuleRecord['actions']): RuleRecord => ({ id, rawsql, for: [], actions, description: '', enabled: true, created_at: 0 });
const republish = (id: string, target: string, tmpl = '${payload}') => [{ id, name: 'republish', params: { target_topic: target, payload_tmpl: tmpl } }];
const message = (topic: string, payload: string, from: string, qos: 0 | 1 = 0) => newMessage({ topic, payload: Buffer.from(payload), qos, retain: false, from, fromUsername: 'u1', timestamp: 1 });
const opts: SubOptions = { qos: 0, nl: false, rap: false, rh: 0, subId: undefined, share: undefined };

/** A session subscribed to `filter` whose connection keeps what it is sent. */
function subscriber(b: ReturnType<typeof broker>, id: string, filter: string): string[] {
  const got: string[] = [];
  const s = new Session(id, b as never);
  s.conn = { clientReceiveMax: 65535, congested: () => false, sendPublish: (m: { topic: string; payload: Buffer }) => void got.push(`${m.topic} ${m.payload.toString()}`) } as unknown as Connection;
  b.router.subscribe(s, filter, opts);
  return got;
}

describe('which rules repeat their last run', () => {
  const host = { nodeName: 'n1', publish: () => {}, dropIfUnrouted: () => true, resource: () => undefined, log: pino({ level: 'silent' }) } as unknown as ActionHost;
  const table: [string, string, boolean][] = [
    ["SELECT payload, clientid FROM \"t/#\" WHERE qos = 0 and topic =~ 't/+'", 'out/${clientid}', true],
    ['SELECT payload FROM "t/#"', 'out/${clientid}/${topic}/${qos}/${node}', true],
    ['SELECT payload, topic AS clientid FROM "t/#"', 'out/${clientid}', true],
    ['SELECT payload AS clientid FROM "t/#"', 'out/${clientid}', false],
    ['SELECT payload FROM "t/#"', 'out/${payload.x}', false],
    ['SELECT payload FROM "t/#"', 'out/${username}', false],
    ['SELECT * FROM "t/#"', 'out/${clientid}', false],
    ['SELECT upper(payload) AS p, clientid FROM "t/#"', 'out/${clientid}', false],
    ['SELECT payload, clientid FROM "t/#" WHERE payload.x = 1', 'out/${clientid}', false],
    ["SELECT payload, clientid FROM \"t/#\" WHERE clientid = 'c1'", 'out/${clientid}', false],
  ];
  for (const [sql, target, want] of table) {
    it(`${want ? 'repeats' : 'does not repeat'} ${sql} republishing to ${target}`, () => {
      assert.equal(repeatable(compileSql(sql), [{ instance: republishAction.create({ target_topic: target }, host) }]), want);
    });
  }

  it('does not repeat with an action that cannot (or with none)', () => {
    const sql = compileSql('SELECT payload, clientid FROM "t/#"');
    assert.equal(repeatable(sql, [{ instance: { run() {} } }]), false);
    assert.equal(repeatable(sql, []), false);
    assert.equal(repeatable(sql, [{ instance: doNothingAction.create({}, host) }]), true);
    assert.equal(repeatable(sql, [{ instance: doNothingAction.create({}, host) }, { instance: { run() {} } }]), false);
  });
});

describe('a repeated run', () => {
  const sql = "SELECT payload, clientid FROM \"t/#\" WHERE qos = 0 and topic =~ 't/+'";

  it('counts as running every rule on every message does', () => {
    const b = broker();
    b.rules.setRules([rule('r0', sql, republish('a0', 'out/0/${clientid}')), rule('r1', 'SELECT payload, clientid FROM "t/#" WHERE qos = 1', republish('a1', 'out/1/${clientid}')), rule('r2', sql, republish('a2', 'out/2/${clientid}'))]);
    for (let i = 0; i < 5; i++) b.publish(message('t/a', 'x', 'c1'));
    for (let i = 0; i < 3; i++) b.publish(message('t/b', 'x', 'c2'));
    b.publish(message('t/a', 'x', 'c1', 1));
    b.publish(message('t/a', 'x', 'c1'));
    let m = b.rules.metrics();
    assert.deepEqual([m.rules.r0!.matched, m.rules.r1!.matched, m.rules.r2!.matched], [10, 10, 10]);
    assert.deepEqual([m.actions.a0!.success, m.actions.a1!.success, m.actions.a2!.success], [9, 1, 9]);
    // each message and each republish: published, nobody subscribed
    assert.equal(b.metrics.get('messages.publish'), 10 + 19);
    assert.equal(b.metrics.get('messages.dropped.no_subscribers'), 10 + 19);
    assert.equal(b.metrics.get('messages.dropped'), 10 + 19);
    // counts kept across an update of the rules
    b.rules.setRules([rule('r0', sql, republish('a0', 'out/0/${clientid}'))]);
    b.publish(message('t/a', 'x', 'c1'));
    m = b.rules.metrics();
    assert.equal(m.rules.r0!.matched, 11);
    assert.equal(m.actions.a0!.success, 10);
  });

  it('counts a do_nothing action once per message it passes', () => {
    const b = broker();
    b.rules.setRules([rule('r', sql, [{ id: 'a', name: 'do_nothing', params: {} }])]);
    for (const from of ['c1', 'c1', 'c2', 'c1', 'c1']) b.publish(message('t/a', 'x', from));
    b.publish(message('t/a', 'x', 'c1', 1));
    assert.equal(b.rules.metrics().actions.a!.success, 5);
    assert.equal(b.rules.metrics().rules.r!.matched, 6);
  });

  it('is a real publish again once someone subscribes to its target, with its own payload', () => {
    const b = broker();
    b.rules.setRules([rule('r', sql, republish('a', 'out/${clientid}', '${clientid}:${payload}'))]);
    b.publish(message('t/a', '1', 'c1'));
    b.publish(message('t/a', '2', 'c1'));
    const got = subscriber(b, 's', 'out/#');
    b.publish(message('t/a', '3', 'c1'));
    b.publish(message('t/a', '4', 'c1'));
    assert.deepEqual(got, ['out/c1 c1:3', 'out/c1 c1:4']);
    assert.equal(b.rules.metrics().actions.a!.success, 4);
  });

  it('repeats for its own publisher only', () => {
    const b = broker();
    b.rules.setRules([rule('r', sql, republish('a', 'out/${clientid}'))]);
    const got = subscriber(b, 's', 'out/c2');
    for (const [from, p] of [['c1', '1'], ['c1', '2'], ['c2', '3'], ['c1', '4'], ['c2', '5'], ['c2', '6']] as const) b.publish(message('t/a', p, from));
    assert.deepEqual(got, ['out/c2 3', 'out/c2 5', 'out/c2 6']);
    assert.equal(b.metrics.get('messages.dropped.no_subscribers'), 6 + 3);
  });

  it('does not repeat past a message.publish listener that sees the republish', () => {
    const b = broker();
    b.rules.setRules([rule('r', sql, republish('a', 'out/${clientid}'))]);
    b.publish(message('t/a', '1', 'c1'));
    const seen: string[] = [];
    const detach = b.hooks.messagePublish.on(({ message: m }) => void seen.push(m.topic));
    b.publish(message('t/a', '2', 'c1'));
    detach();
    // (the rule engine listens first: the republish is seen before the message it came from)
    assert.deepEqual(seen, ['out/c1', 't/a']);
  });
});
