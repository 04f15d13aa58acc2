// The rule SQL (node/rules/sql/): parsing with positions in errors, SELECT columns and
// aliases, `*`, payload paths, WHERE operators and every built-in function, table-tested
// against real event sources (node/rules/events.ts).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { compileSql } from '../../node/rules/sql/compile.js';
import { SqlError } from '../../node/rules/sql/parser.js';
import { EVENT_TOPICS, MessageSource } from '../../node/rules/events.js';
import { template } from '../../node/rules/actions/template.js';
import { newMessage } from '../../shared/message.js';
import type { ClientInfo } from '../../node/core/hooks.js';

const msg = (payload: string, topic = 't/1', qos: 0 | 1 | 2 = 1) => newMessage({ topic, payload: Buffer.from(payload), qos, retain: false, from: 'c1', fromUsername: 'u1', timestamp: 1_700_000_000_000 });
const lookup = (id: string) => (id === 'c1' ? { username: 'u1', peerhost: '10.0.0.1' } : undefined);
const PAYLOAD = JSON.stringify({ x: 2, s: ' Hi ', a: [10, 20, 30], o: { k: 'v', n: -3.5 }, t: true });
const run = (sql: string, payload = PAYLOAD, topic = 't/1') => compileSql(sql).run(new MessageSource(msg(payload, topic), 'n1@host', lookup));
/** The value of one expression, selected as `v`. */
const value = (expr: string, payload = PAYLOAD) => run(`SELECT ${expr} AS v FROM "t/#"`, payload)?.v;

describe('parsing', () => {
  it('FROM gives the topic filters, in order; keywords in any case; either quote', () => {
    assert.deepEqual(compileSql(`select * FROM "t/#", 'a/+/b' where 1 = 1`).from, ['t/#', 'a/+/b']);
    assert.deepEqual(compileSql('SeLeCt clientid FrOm "$events/client_connected"').from, ['$events/client_connected']);
  });

  const errors: [string, RegExp][] = [
    ['SELECT FROM "t"', /unexpected "FROM" at line 1, column 8/],
    ['SELECT * FROM t', /unexpected "t" at line 1, column 15/],
    ['SELECT a,\n  b FROM "t" WHERE', /end of input at line 2, column 19/],
    ['SELECT * FROM "t" WHERE a ! b', /unexpected character "!" at line 1, column 27/],
    ['SELECT nope(1) FROM "t"', /unknown function nope at line 1, column 8/],
    ['SELECT lower(1, 2) FROM "t"', /lower takes 1 argument\(s\), not 2 at line 1, column 8/],
    ['SELECT * FROM "t" WHERE (a = 1', /expected RPAREN, found end of input at line 1, column 31/],
    ['', /line 1, column 1/],
    ['SELECT * "t"', /line 1, column 10/],
  ];
  for (const [sql, re] of errors) {
    it(`refuses ${JSON.stringify(sql)} with its position`, () => {
      assert.throws(() => compileSql(sql), (e: unknown) => e instanceof SqlError && re.test(e.message) && e.line >= 1 && e.column >= 1);
    });
  }
});

describe('SELECT', () => {
  it('* is every column of the event, payload as text', () => {
    const s = run('SELECT * FROM "t/#"')!;
    assert.deepEqual(Object.keys(s).sort(), ['clientid', 'flags', 'headers', 'id', 'node', 'payload', 'peerhost', 'pub_props', 'publish_received_at', 'qos', 'timestamp', 'topic', 'username'].sort());
    assert.equal(s.payload, PAYLOAD);
    assert.equal(s.clientid, 'c1');
    assert.equal(s.username, 'u1');
    assert.equal(s.peerhost, '10.0.0.1');
    assert.equal(s.qos, 1);
    assert.equal(s.node, 'n1@host');
    assert.equal(s.timestamp, 1_700_000_000_000);
    assert.match(s.id as string, /^[0-9A-F]{32}$/);
  });

  it('a path without alias nests under its path; AS names a column (nested too); an expression is named by its text', () => {
    assert.deepEqual(run('SELECT payload.x, payload.o.k FROM "t/#"'), { payload: { x: 2, o: { k: 'v' } } });
    assert.deepEqual(run('SELECT payload.x AS x, topic AS a.b, upper(clientid) FROM "t/#"'), { x: 2, a: { b: 't/1' }, 'upper(clientid)': 'C1' });
    assert.deepEqual(run('SELECT *, payload.x AS x FROM "t/#"')!.x, 2);
  });

  const paths: [string, unknown][] = [
    ['payload.x', 2],
    ['payload.a[1]', 10],
    ['payload.a[-1]', 30],
    ['payload.a[4]', undefined],
    ['payload.o.n', -3.5],
    ["payload['o'].k", 'v'],
    ['payload.missing.deeper', undefined],
    ['payload.select', undefined],
  ];
  for (const [expr, want] of paths) it(`${expr} is ${JSON.stringify(want)}`, () => assert.deepEqual(value(expr), want));

  it('a payload that is no JSON has no paths, and is text', () => {
    assert.equal(value('payload.x', 'plain'), undefined);
    assert.equal(value('payload', 'plain'), 'plain');
  });
});

describe('WHERE', () => {
  const cases: [string, boolean][] = [
    ['payload.x = 2', true],
    ['payload.x = \'2\'', true],
    ['payload.x != 2', false],
    ['payload.x <> 3', true],
    ['payload.x > 1 and payload.x < 3', true],
    ['payload.x >= 2 and payload.x <= 2', true],
    ['payload.x > 2 or payload.t = true', true],
    ['not payload.x = 2', false],
    ['not (payload.x = 1 or payload.x = 3)', true],
    ["topic =~ 't/+'", true],
    ["topic =~ 'x/#'", false],
    ["clientid = 'c1' and username = 'u1'", true],
    ['qos = 1', true],
    ['payload.x + 1 = 3 and payload.x * 3 = 6 and payload.x - 5 = -3', true],
    ['7 div 2 = 3 and 7 mod 2 = 1 and 7 / 2 = 3.5', true],
    ['1 + 2 * 3 = 7 and (1 + 2) * 3 = 9', true],
    ["'a' + 'b' = 'ab'", true],
    ["payload.o.k = 'v'", true],
    ['payload.nothing = 1', false],
    ["'b' > 'a'", true],
    ['x = 2', true],
  ];
  for (const [where, pass] of cases) {
    it(`${where} → ${pass}`, () => {
      const r = run(`SELECT payload.x AS x FROM "t/#" WHERE ${where}`);
      assert.equal(r !== undefined, pass);
    });
  }

  it('an alias is read from the selection in WHERE', () => {
    assert.deepEqual(run('SELECT payload.x * 10 AS big FROM "t/#" WHERE big = 20'), { big: 20 });
    assert.equal(run('SELECT payload.x * 10 AS big FROM "t/#" WHERE big = 2'), undefined);
  });

  it('a value that is no number fails the rule (a throw), as EMQX', () => {
    assert.throws(() => run('SELECT * FROM "t/#" WHERE payload.o > 1'));
  });
});

describe('functions', () => {
  const cases: [string, unknown][] = [
    ["lower('AbC')", 'abc'],
    ["upper('AbC')", 'ABC'],
    ["concat('a', 'b', 1)", 'ab1'],
    ["substr('hello', 1)", 'ello'],
    ["substr('hello', 1, 3)", 'ell'],
    ["split('/a/b//c', '/')", ['a', 'b', 'c']],
    ['trim(payload.s)', 'Hi'],
    ['ltrim(payload.s)', 'Hi '],
    ['rtrim(payload.s)', ' Hi'],
    ["replace('a-b-c', '-', '+')", 'a+b+c'],
    ["regex_match('abc1', '[0-9]$')", true],
    ["regex_replace('a1b2', '[0-9]', '_')", 'a_b_'],
    ["strlen('héllo')", 5],
    ["reverse('abc')", 'cba'],
    ["json_decode('{\"a\":[1]}')", { a: [1] }],
    ['json_encode(payload.o)', '{"k":"v","n":-3.5}'],
    ["int('42')", 42],
    ['int(payload.o.n)', -3],
    ["float('1.5')", 1.5],
    ['str(12)', '12'],
    ['str(payload.a)', '[10,20,30]'],
    ["bool('true')", true],
    ['bool(0)', false],
    ['abs(payload.o.n)', 3.5],
    ['round(2.5)', 3],
    ['floor(2.7)', 2],
    ['ceil(2.1)', 3],
    ['sqrt(16)', 4],
    ['power(2, 10)', 1024],
    ['is_null(payload.none)', true],
    ['is_not_null(payload.x)', true],
    ['is_num(payload.x)', true],
    ['is_str(payload.s)', true],
    ['is_map(payload.o)', true],
    ['is_array(payload.a)', true],
    ['is_bool(payload.t)', true],
    ['nth(2, payload.a)', 20],
    ['first(payload.a)', 10],
    ['last(payload.a)', 30],
    ['length(payload.a)', 3],
    ['sublist(2, payload.a)', [10, 20]],
    ['contains(20, payload.a)', true],
    ["map_get('k', payload.o)", 'v'],
    ["map_get('z', payload.o, 'd')", 'd'],
    ["nth(1, split(topic, '/'))", 't'],
    ['topic_level(topic, 2)', '1'],
    ["topic_match(topic, 't/#')", true],
    ["base64_encode('hi')", 'aGk='],
    ["base64_decode('aGk=')", 'hi'],
    ["md5('a')", '0cc175b9c0f1b6a831c399e269772661'],
    ["sha256('a')", createHash('sha256').update('a').digest('hex')],
  ];
  for (const [expr, want] of cases) it(`${expr} = ${JSON.stringify(want)}`, () => assert.deepEqual(value(expr), want));

  it('now_timestamp in each unit, now_rfc3339 and the conversions', () => {
    const before = Date.now();
    const ms = value('now_timestamp()') as number;
    assert.ok(ms >= before && ms <= Date.now());
    assert.ok(Math.abs((value("now_timestamp('second')") as number) - Math.floor(ms / 1000)) <= 1);
    assert.ok((value("now_timestamp('microsecond')") as number) >= ms * 1000);
    assert.match(value('now_rfc3339()') as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    assert.match(value("now_rfc3339('millisecond')") as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
    assert.equal(value("rfc3339_to_unix_ts(unix_ts_to_rfc3339(1700000000))"), 1_700_000_000);
    assert.throws(() => value("now_timestamp('year')"));
  });
});

describe('event topics', () => {
  const client: ClientInfo = { clientid: 'c9', username: 'u9', peerhost: '1.2.3.4', peerport: 5555, sockport: 1883, protoName: 'MQTT', protoVer: 4, keepalive: 60, cleanStart: true, expiryInterval: 0, connectedAt: 1000, isBridge: false };
  const sel = (topic: string, sql: string, event: unknown) => compileSql(sql).run(EVENT_TOPICS[topic]!.source(event as never, 'n1@host', lookup));

  it('client_connected and client_disconnected carry EMQX columns', () => {
    const c = sel('$events/client_connected', 'SELECT * FROM "$events/client_connected"', { client })!;
    for (const k of ['clientid', 'username', 'peername', 'sockname', 'proto_name', 'proto_ver', 'keepalive', 'clean_start', 'expiry_interval', 'is_bridge', 'connected_at', 'timestamp', 'node']) assert.ok(k in c, k);
    assert.equal(c.peername, '1.2.3.4:5555');
    const d = sel('$events/client_disconnected', "SELECT clientid, reason FROM \"$events/client_disconnected\" WHERE reason = 'normal'", { client, reason: 'normal', disconnectedAt: 2000 });
    assert.deepEqual(d, { clientid: 'c9', reason: 'normal' });
  });

  it('session_subscribed/unsubscribed, message_delivered/acked/dropped', () => {
    assert.deepEqual(sel('$events/session_subscribed', 'SELECT clientid, username, topic, qos FROM "$events/session_subscribed"', { clientid: 'c1', topic: 'a/b', opts: { qos: 2 }, isNew: true }), { clientid: 'c1', username: 'u1', topic: 'a/b', qos: 2 });
    assert.deepEqual(sel('$events/session_unsubscribed', 'SELECT topic FROM "$events/session_unsubscribed"', { clientid: 'c1', topic: 'a/b' }), { topic: 'a/b' });
    const m = msg('{"x":1}');
    assert.deepEqual(sel('$events/message_delivered', 'SELECT from_clientid, clientid, payload.x AS x FROM "$events/message_delivered"', { clientid: 'c2', message: m, qos: 1 }), { from_clientid: 'c1', clientid: 'c2', x: 1 });
    assert.deepEqual(sel('$events/message_acked', 'SELECT clientid, topic FROM "$events/message_acked"', { clientid: 'c2', message: m }), { clientid: 'c2', topic: 't/1' });
    assert.deepEqual(sel('$events/message_dropped', 'SELECT reason, topic FROM "$events/message_dropped"', { message: m, reason: 'no_subscribers', clientid: undefined }), { reason: 'no_subscribers', topic: 't/1' });
  });
});

describe('templates', () => {
  it('${field} from the selection, then the event; ${payload.x} goes into the JSON payload; unknown is empty', () => {
    const t = template('${clientid}/${payload.x}/${nope}/${a.b}!');
    assert.equal(t({ a: { b: 'B' } }, { clientid: 'c1', payload: '{"x":5}' }), 'c1/5//B!');
    assert.equal(template('fixed')({}, {}), 'fixed');
  });
});

