// The rule engine on one in-process node (node/rules/engine.ts): attached to the hooks only
// while a rule runs (the publish path untouched otherwise), actions run after WHERE, a
// failing action is counted and never disturbs the publish, no republish loop, one run per
// message whatever the number of matching FROM filters, and the compiled `=~` agrees with
// topicMatches.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { composeBroker } from '../../node/core/compose.js';
import { filterMatcher } from '../../node/rules/sql/topic-match.js';
import type { RuleRecord } from '../../shared/api/rules.js';
import { loadConfig } from '../../shared/config.js';
import { newMessage } from '../../shared/message.js';
import { topicMatches } from '../../shared/topic.js';

const broker = () => composeBroker(loadConfig({ STARLING_MQTT_PORT: '0', STARLING_WS_PORT: '-1' }), pino({ level: 'silent' }));
const rule = (id: string, rawsql: string, actions: RuleRecord['actions'], enabled = true): RuleRecord => ({ id, rawsql, for: [], actions, description: '', enabled, created_at: 0 });
const pub = (b: ReturnType<typeof broker>, topic: string, payload: string, qos: 0 | 1 = 0) => b.publish(newMessage({ topic, payload: Buffer.from(payload), qos, retain: false, from: 'c1' }));

/** Every message the node publishes (republishes included), by topic. */
function published(b: ReturnType<typeof broker>): string[] {
  const seen: string[] = [];
  b.hooks.messagePublish.on((e) => void seen.push(`${e.message.topic} ${e.message.payload.toString()} q${e.message.qos}`));
  return seen;
}

describe('rule engine', () => {
  it('attaches to message.publish only while loaded with an enabled message rule; event rules to their own hook', () => {
    const b = broker();
    // other parts of the node (presence, ...) may listen to client.connected: count ours
    const connected = b.hooks.clientConnected.listenerCount;
    assert.equal(b.hooks.messagePublish.active, false, 'no rules: nothing attached');
    b.rules.setRules([rule('r1', 'SELECT * FROM "t/#"', [], false)]);
    assert.equal(b.hooks.messagePublish.active, false, 'a disabled rule attaches nothing');
    b.rules.setRules([rule('r1', 'SELECT * FROM "t/#"', [])]);
    assert.equal(b.hooks.messagePublish.active, true);
    b.rules.setRules([rule('r2', 'SELECT * FROM "$events/client_connected"', [])]);
    assert.equal(b.hooks.messagePublish.active, false);
    assert.equal(b.hooks.clientConnected.listenerCount, connected + 1);
    b.rules.unload();
    assert.equal(b.hooks.clientConnected.listenerCount, connected, 'unloaded: nothing attached');
    b.rules.load();
    assert.equal(b.hooks.clientConnected.listenerCount, connected + 1);
    b.rules.setRules([]);
    assert.equal(b.hooks.clientConnected.listenerCount, connected);
  });

  it('republishes what WHERE passes with its templates and QoS; counts matched, success and failed', () => {
    const b = broker();
    b.rules.setRules([
      rule('r1', 'SELECT payload.n AS n FROM "t/#" WHERE n > 1', [{ id: 'a1', name: 'republish', params: { target_topic: 'out/${clientid}', payload_tmpl: 'n=${n} t=${topic}', target_qos: -1 } }]),
      // a topic template that gives no topic name: the action fails, the publish goes on
      rule('r2', 'SELECT * FROM "t/#"', [{ id: 'a2', name: 'republish', params: { target_topic: '${topic}/#' } }, { id: 'a3', name: 'do_nothing', params: {} }]),
    ]);
    const seen = published(b);
    pub(b, 't/1', '{"n":1}', 1);
    pub(b, 't/2', '{"n":5}', 1);
    pub(b, 'x/1', '{"n":9}', 1);
    assert.deepEqual(seen.filter((s) => s.startsWith('out/')), ['out/c1 n=5 t=t/2 q1']);
    const m = b.rules.metrics();
    assert.equal(m.rules.r1!.matched, 2);
    assert.equal(m.rules.r2!.matched, 2);
    assert.deepEqual(m.actions.a1, { success: 1, failed: 0 });
    assert.deepEqual(m.actions.a2, { success: 0, failed: 2 }, 'a wildcard is no topic name');
    assert.deepEqual(m.actions.a3, { success: 2, failed: 0 }, 'the next action still runs');
  });

  it('a rule republishing into its own FROM does not loop; a message matching two FROM filters runs a rule once', () => {
    const b = broker();
    b.rules.setRules([rule('r1', 'SELECT * FROM "t/#", "t/+"', [{ id: 'a1', name: 'republish', params: { target_topic: 't/again' } }])]);
    const seen = published(b);
    pub(b, 't/1', 'x');
    // the republish runs inside the publish of t/1 (this listener comes after the engine's)
    assert.deepEqual(seen, ['t/again x q0', 't/1 x q0']);
    assert.equal(b.rules.metrics().rules.r1!.matched, 1);
  });

  it('a rule whose SQL does not compile is skipped on the node, the others run', () => {
    const b = broker();
    b.rules.setRules([rule('bad', 'SELECT FROM', []), rule('ok', 'SELECT * FROM "t/#"', [])]);
    pub(b, 't/1', 'x');
    assert.equal(b.rules.metrics().rules.ok!.matched, 1);
    assert.equal(b.rules.metrics().rules.bad!.matched, 0);
  });

  it('check: the for of good SQL and actions; why not otherwise', () => {
    const b = broker();
    assert.deepEqual(b.rules.check('SELECT * FROM "a", "b/#"', [{ name: 'inspect', params: {} }]), { ok: true, for: ['a', 'b/#'] });
    assert.equal(b.rules.check('SELECT * FROM', []).ok, false);
    assert.deepEqual(b.rules.check('SELECT * FROM "a"', [{ name: 'nope', params: {} }]), { ok: false, message: 'action "nope" not found' });
    assert.equal(b.rules.check('SELECT * FROM "a"', [{ name: 'republish', params: { target_qos: 3, target_topic: 'x' } }]).ok, false);
  });
});

describe('compiled topic match', () => {
  const filters = ['#', '+', 't/#', 't/+', 't/+/x', '+/+', 'a.b/*', 't/#/x', '$SYS/#', '+/#', 't'];
  const topics = ['t', 't/1', 't/1/x', 't/1/y', 'a.b/*', 'aXb/*', '$SYS/x', 'x', '', 't/', '/t', 't/1/x/2'];
  for (const f of filters) {
    it(`${f} agrees with topicMatches`, () => {
      const m = filterMatcher(f);
      for (const t of topics) assert.equal(m(t), topicMatches(f, t), `${f} ~ ${t}`);
    });
  }
});
