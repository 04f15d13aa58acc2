// The rule engine's per-message shortcuts answer as the plain evaluation does: WHERE
// verdicts kept per topic and QoS (only for a WHERE that reads nothing else), lazy
// selections against plain ones, generated templates sharing a factory, and a republish's
// memo of "nobody would get it", which a new subscriber or rule must end at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { composeBroker } from '../../node/core/compose.js';
import type { Connection } from '../../node/protocol/connection.js';
import { newRouteMemo } from '../../node/router/trie.js';
import type { SubOptions } from '../../node/router/router.js';
import { template } from '../../node/rules/actions/template.js';
import { MessageSource } from '../../node/rules/events.js';
import { compileSql } from '../../node/rules/sql/compile.js';
import { Session } from '../../node/session/session.js';
import type { RuleRecord } from '../../shared/api/rules.js';
import { loadConfig } from '../../shared/config.js';
import { newMessage } from '../../shared/message.js';

const broker = () => composeBroker(loadConfig({ STARLING_MQTT_PORT: '0', STARLING_WS_PORT: '-1' }), pino({ level: 'silent' }));
const rule = (id: string, rawsql: string, actions: RuleRecord['actions'] = []): RuleRecord => ({ id, rawsql, for: [], actions, description: '', enabled: true, created_at: 0 });
const message = (topic: string, payload: string, qos: 0 | 1 | 2 = 0, from = 'c1') => newMessage({ topic, payload: Buffer.from(payload), qos, retain: false, from, fromUsername: 'u1', timestamp: 1_700_000_000_000 });
const source = (topic: string, payload: string, qos: 0 | 1 | 2 = 0) => new MessageSource(message(topic, payload, qos), 'n1@host', () => ({ username: 'u1', peerhost: '10.0.0.1' }));
const opts: SubOptions = { qos: 0, nl: false, rap: false, rh: 0, subId: undefined, share: undefined };

/** A session subscribed to `filter` whose connection counts what it is sent. */
function subscriber(b: ReturnType<typeof broker>, id: string, filter: string): { received: number; session: Session } {
  const out = { received: 0, session: new Session(id, b as never) };
  out.session.conn = { clientReceiveMax: 65535, congested: () => false, sendPublish: () => void out.received++ } as unknown as Connection;
  b.router.subscribe(out.session, filter, opts);
  return out;
}

describe('WHERE judged per topic and QoS', () => {
  const table: [string, boolean][] = [
    ['SELECT * FROM "t/#"', true],
    ["SELECT * FROM \"t/#\" WHERE qos = 0 and topic =~ 't/+'", true],
    ["SELECT payload FROM \"t/#\" WHERE lower(topic) = 't/a' or node = 'x' or event = 'message.publish'", true],
    ['SELECT * FROM "t/#" WHERE payload.x = 1', false],
    ["SELECT * FROM \"t/#\" WHERE clientid = 'c1'", false],
    ['SELECT * FROM "t/#" WHERE now_timestamp() > 0', false],
    // WHERE reads the alias q: SELECT runs first, nothing is kept
    ['SELECT qos + 1 AS q FROM "t/#" WHERE q = 1', false],
    ['SELECT qos AS topic FROM "t/#" WHERE topic = 0', false],
  ];
  for (const [sql, byTopic] of table) {
    it(`${byTopic ? 'keeps' : 'does not keep'} the verdict of ${sql}`, () => assert.equal(compileSql(sql).byTopic !== undefined, byTopic));
  }

  it('the engine answers as the plain evaluation for every topic and QoS, in any order', () => {
    const sqls = ["SELECT topic FROM \"t/#\" WHERE qos = 1 and topic =~ 't/+'", "SELECT topic FROM \"t/#\" WHERE qos != 1 or topic = 't/a/b'", 'SELECT topic FROM "t/#" WHERE payload.n > 1'];
    const b = broker();
    b.rules.setRules(sqls.map((s, i) => rule(`r${i}`, s, [{ id: `a${i}`, name: 'do_nothing', params: {} }])));
    const want = sqls.map(() => 0);
    const cases: [string, 0 | 1 | 2, string][] = [];
    for (const topic of ['t/a', 't/a/b', 't/b', 'x/y']) for (const qos of [0, 1, 2] as const) for (const p of ['{"n":1}', '{"n":2}']) cases.push([topic, qos, p]);
    // twice, the second time from the kept verdicts
    for (const [topic, qos, p] of [...cases, ...cases.reverse()]) {
      b.publish(message(topic, p, qos));
      sqls.forEach((s, i) => {
        if (topic.startsWith('t/') && compileSql(s).run(source(topic, p, qos)) !== undefined) want[i]!++;
      });
    }
    const m = b.rules.metrics();
    assert.deepEqual(
      sqls.map((_, i) => m.actions[`a${i}`]!.success),
      want,
    );
    assert.equal(m.rules.r0!.matched, cases.length * 2 - 2 * 2 * 3 * 1, 'matched counts every message on the FROM, whatever WHERE says');
  });

  it('a rule that changes is judged again', () => {
    const b = broker();
    b.rules.setRules([rule('r', 'SELECT * FROM "t/#" WHERE qos = 0', [{ id: 'a', name: 'do_nothing', params: {} }])]);
    b.publish(message('t/1', 'x'));
    b.rules.setRules([rule('r', 'SELECT * FROM "t/#" WHERE qos = 1', [{ id: 'a', name: 'do_nothing', params: {} }])]);
    b.publish(message('t/1', 'x'));
    b.publish(message('t/1', 'x', 1));
    assert.equal(b.rules.metrics().actions.a!.success, 2);
  });
});

describe('lazy selections', () => {
  const sqls = [
    'SELECT payload, clientid, topic, qos FROM "t/#"',
    'SELECT payload AS p, upper(clientid) AS c, qos FROM "t/#"',
    'SELECT payload.x AS x, topic FROM "t/#"',
    'SELECT payload.x, payload.o.k FROM "t/#"',
    'SELECT *, qos AS q FROM "t/#"',
    'SELECT clientid AS toJSON, topic FROM "t/#"',
    'SELECT qos + 1 AS q FROM "t/#" WHERE q = 1',
  ];
  for (const sql of sqls) {
    it(`give what the plain selection gives: ${sql}`, () => {
      const c = compileSql(sql);
      const plain = c.run(source('t/1', '{"x":2,"o":{"k":"v"}}'))!;
      const lazy = c.runLazy(source('t/1', '{"x":2,"o":{"k":"v"}}'))!;
      const noId = (o: object) => JSON.parse(JSON.stringify(o, (k, v) => (k === 'id' ? 'ID' : v)));
      assert.deepEqual(noId(lazy), noId(plain), 'as JSON, in the same order');
      assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(lazy))), Object.keys(plain));
      for (const k of Object.keys(plain)) if (k !== 'id') assert.deepEqual(lazy[k], plain[k], k);
    });
  }

  it('WHERE refusing gives no selection; a column expression that throws fails at once', () => {
    const c = compileSql('SELECT payload, qos FROM "t/#" WHERE qos = 1');
    assert.equal(c.runLazy(source('t/1', 'x', 0)), undefined);
    assert.throws(() => compileSql('SELECT payload, abs(payload) AS n FROM "t/#"').runLazy(source('t/1', 'not a number')));
  });

  it('a payload nobody reads is not decoded', () => {
    const src = source('t/1', 'text');
    let decoded = 0;
    const payloadText = src.payloadText.bind(src);
    src.payloadText = () => (decoded++, payloadText());
    const sel = compileSql('SELECT payload, clientid FROM "t/#"').runLazy(src)!;
    assert.equal(sel.clientid, 'c1');
    assert.equal(decoded, 0);
    assert.equal(sel.payload, 'text');
    assert.equal(decoded, 1);
  });
});

describe('generated templates', () => {
  it('templates of one shape with other text and paths render their own', () => {
    const a = template('a/${clientid}/x');
    const b = template('bb/${clientid}/yy');
    const c = template('a/${topic}/x');
    const sel = { clientid: 'c1', topic: 't/1' };
    assert.equal(a(sel, {}), 'a/c1/x');
    assert.equal(b(sel, {}), 'bb/c1/yy');
    assert.equal(c(sel, {}), 'a/t/1/x');
    assert.equal(a({ clientid: 'c2' }, {}), 'a/c2/x', 'a new value, a new text');
    assert.equal(a({}, { clientid: 'c3' }), 'a/c3/x', 'the event columns when the selection has none');
    assert.equal(template('${"x"}')({ '"x"': 1 }, {}), '1', 'a path is data, never code');
    assert.equal(template('')({}, {}), '');
    assert.equal(template('plain')({}, {}), 'plain');
  });

  it('the same values give the very same string; an object is rendered again', () => {
    const t = template('${a}/${b}');
    assert.equal(t({ a: 'x', b: 1 }, {}), 'x/1');
    assert.equal(t({ a: 'x', b: 1 }, {}), 'x/1');
    const o = { k: 1 };
    assert.equal(t({ a: 'x', b: o }, {}), 'x/{"k":1}');
    o.k = 2;
    assert.equal(t({ a: 'x', b: o }, {}), 'x/{"k":2}');
  });
});

describe('republish to a topic nobody subscribes to', () => {
  const republish = (id: string) => rule(id, 'SELECT * FROM "t/#"', [{ id: `${id}-a`, name: 'republish', params: { target_topic: 'out/${clientid}' } }]);

  it('is only counted until someone subscribes, then delivered', () => {
    const b = broker();
    b.rules.setRules([republish('r')]);
    b.publish(message('t/1', 'x'));
    b.publish(message('t/1', 'x'));
    assert.equal(b.metrics.get('messages.dropped.no_subscribers'), 4, 'both messages and both republishes');
    const sub = subscriber(b, 's1', 'out/+');
    b.publish(message('t/1', 'x'));
    assert.equal(sub.received, 1, 'the memo of "nobody" ends with the subscription');
    b.router.unsubscribe('s1', 'out/+', undefined);
    b.publish(message('t/1', 'x'));
    assert.equal(sub.received, 1);
    assert.equal(b.rules.metrics().actions['r-a']!.success, 4);
  });

  it('a rule on the target topic makes the republish a real publish', () => {
    const b = broker();
    b.rules.setRules([republish('r')]);
    b.publish(message('t/1', 'x'));
    b.rules.setRules([republish('r'), rule('watch', 'SELECT * FROM "out/#"', [{ id: 'w', name: 'do_nothing', params: {} }])]);
    b.publish(message('t/1', 'x'));
    assert.equal(b.rules.metrics().rules.watch!.matched, 1);
  });

  it("the broker's memo holds only while no route changed", () => {
    const b = broker();
    const memo = newRouteMemo();
    assert.equal(b.dropIfUnrouted('o/1', false, memo), true);
    assert.equal(b.dropIfUnrouted('o/1', false, memo), true);
    subscriber(b, 's1', 'o/#');
    assert.equal(b.dropIfUnrouted('o/1', false, memo), false);
    assert.equal(b.dropIfUnrouted('o/2', false, memo), false, 'another topic is looked up');
    b.router.unsubscribe('s1', 'o/#', undefined);
    assert.equal(b.dropIfUnrouted('o/2', false, memo), true);
    const detach = b.hooks.messageDropped.on(() => {});
    assert.equal(b.dropIfUnrouted('o/2', false, memo), false, 'a message.dropped listener sees it');
    detach();
    assert.equal(b.dropIfUnrouted('o/2', false, memo), true, 'the listener gone, nobody sees it');
    const watch = b.hooks.messagePublish.on(() => {});
    assert.equal(b.dropIfUnrouted('o/2', false, memo), false, 'a message.publish listener sees it');
    watch();
    assert.equal(b.dropIfUnrouted('o/2', true, memo), false, 'a retained message is kept');
  });
});

describe('one selection record per message for rules selecting the same columns', () => {
  it('each rule still republishes what its own SELECT and template give', () => {
    const b = broker();
    const got: string[] = [];
    const s = new Session('sub', b as never);
    s.conn = { clientReceiveMax: 65535, congested: () => false, sendPublish: (m: { topic: string; payload: Buffer }) => void got.push(`${m.topic} ${m.payload.toString()}`) } as unknown as Connection;
    b.router.subscribe(s, 'o/#', opts);
    const republish = (i: number, tmpl: string) => [{ id: `a${i}`, name: 'republish', params: { target_topic: `o/${i}/\${clientid}`, payload_tmpl: tmpl } }];
    b.rules.setRules([
      rule('r0', 'SELECT payload, clientid FROM "t/#"', republish(0, '${payload}')),
      // WHERE refuses: the next rule with the same columns makes its own record
      rule('r1', 'SELECT payload, clientid FROM "t/#" WHERE qos = 1', republish(1, '${payload}')),
      rule('r2', 'SELECT payload, clientid FROM "t/#"', republish(2, '${clientid}:${payload}')),
      rule('r3', 'SELECT upper(payload) AS payload, clientid FROM "t/#"', republish(3, '${payload}')),
      rule('r4', 'SELECT clientid, payload FROM "t/#"', republish(4, '${payload}')),
    ]);
    b.publish(message('t/a', 'x', 0, 'c1'));
    b.publish(message('t/a', 'y', 0, 'c2'));
    assert.deepEqual(got, ['o/0/c1 x', 'o/2/c1 c1:x', 'o/3/c1 X', 'o/4/c1 x', 'o/0/c2 y', 'o/2/c2 c2:y', 'o/3/c2 Y', 'o/4/c2 y']);
  });
});
