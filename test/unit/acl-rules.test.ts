import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AclParseError,
  CLIENTID,
  HASH,
  PLUS,
  USERNAME,
  canonicalIp,
  cidrContains,
  loadAclFile,
  parseAclRules,
  parseCidr,
  parseIp,
  type AclRule,
  type Cidr,
} from '../../node/access/acl-rules.js';

/** Rules without the parsed bytes of CIDRs, which are checked separately, for readable deepEqual. */
function plain(rules: AclRule[]): unknown[] {
  return JSON.parse(JSON.stringify(rules, (k, v) => (k === 'bytes' ? undefined : v)));
}

const cidr = (text: string, prefix: number) => ({ prefix, text });

test('every syntax form of EMQX acl.conf', () => {
  const cases: { src: string; want: unknown }[] = [
    {
      src: '{allow, {user, "dashboard"}, subscribe, ["$SYS/#"]}.',
      want: { permission: 'allow', who: { kind: 'user', username: 'dashboard' }, access: 'subscribe', topics: [{ kind: 'filter', text: '$SYS/#', words: ['$SYS', HASH], pattern: false }], line: 1 },
    },
    {
      src: '{allow, {ipaddr, "127.0.0.1"}, pubsub, ["$SYS/#", "#"]}.',
      want: {
        permission: 'allow',
        who: { kind: 'ipaddr', cidr: cidr('127.0.0.1', 32) },
        access: 'pubsub',
        topics: [
          { kind: 'filter', text: '$SYS/#', words: ['$SYS', HASH], pattern: false },
          { kind: 'filter', text: '#', words: [HASH], pattern: false },
        ],
        line: 1,
      },
    },
    {
      src: '{allow, {ipaddrs, ["127.0.0.1", "10.0.0.0/8"]}, publish, ["#"]}.',
      want: {
        permission: 'allow',
        who: { kind: 'ipaddrs', cidrs: [cidr('127.0.0.1', 32), cidr('10.0.0.0/8', 8)] },
        access: 'publish',
        topics: [{ kind: 'filter', text: '#', words: [HASH], pattern: false }],
        line: 1,
      },
    },
    {
      src: '{allow, {client, "sensor-1"}, publish, ["sensors/%c/data"]}.',
      want: { permission: 'allow', who: { kind: 'client', clientid: 'sensor-1' }, access: 'publish', topics: [{ kind: 'filter', text: 'sensors/%c/data', words: ['sensors', CLIENTID, 'data'], pattern: true }], line: 1 },
    },
    {
      src: `{allow, {'and', [{user, "u1"}, {client, "c1"}]}, subscribe, ["a/#"]}.`,
      want: {
        permission: 'allow',
        who: { kind: 'and', conds: [{ kind: 'user', username: 'u1' }, { kind: 'client', clientid: 'c1' }] },
        access: 'subscribe',
        topics: [{ kind: 'filter', text: 'a/#', words: ['a', HASH], pattern: false }],
        line: 1,
      },
    },
    {
      src: `{allow, {'or', [{user, "u1"}, {ipaddr, "192.168.0.0/16"}]}, publish, ["b/#"]}.`,
      want: {
        permission: 'allow',
        who: { kind: 'or', conds: [{ kind: 'user', username: 'u1' }, { kind: 'ipaddr', cidr: cidr('192.168.0.0/16', 16) }] },
        access: 'publish',
        topics: [{ kind: 'filter', text: 'b/#', words: ['b', HASH], pattern: false }],
        line: 1,
      },
    },
    {
      src: '{deny, all, subscribe, ["$SYS/#", {eq, "#"}]}.',
      want: {
        permission: 'deny',
        who: { kind: 'all' },
        access: 'subscribe',
        topics: [
          { kind: 'filter', text: '$SYS/#', words: ['$SYS', HASH], pattern: false },
          { kind: 'eq', text: '#' },
        ],
        line: 1,
      },
    },
    { src: '{allow, all}.', want: { permission: 'allow', who: { kind: 'all' }, access: 'pubsub', topics: 'all', line: 1 } },
    { src: '{deny, all}.', want: { permission: 'deny', who: { kind: 'all' }, access: 'pubsub', topics: 'all', line: 1 } },
    // Beyond the examples: {user, all}, %u, +, a lone string topic, a binary.
    {
      src: '{deny, {user, all}, publish, ["users/%u/+/x"]}.',
      want: { permission: 'deny', who: { kind: 'user' }, access: 'publish', topics: [{ kind: 'filter', text: 'users/%u/+/x', words: ['users', USERNAME, PLUS, 'x'], pattern: true }], line: 1 },
    },
    {
      src: '{allow, {client, all}, publish, "t/1"}.',
      want: { permission: 'allow', who: { kind: 'client' }, access: 'publish', topics: [{ kind: 'filter', text: 't/1', words: ['t', '1'], pattern: false }], line: 1 },
    },
    {
      src: '{allow, {user, <<"bin">>}, publish, [<<"t/%u">>]}.',
      want: { permission: 'allow', who: { kind: 'user', username: 'bin' }, access: 'publish', topics: [{ kind: 'filter', text: 't/%u', words: ['t', USERNAME], pattern: true }], line: 1 },
    },
    {
      // %u inside a level is literal, as in EMQX 4.x; {eq, ..} never substitutes.
      src: '{allow, all, publish, ["a/x%u", {eq, "b/%c"}]}.',
      want: {
        permission: 'allow',
        who: { kind: 'all' },
        access: 'publish',
        topics: [
          { kind: 'filter', text: 'a/x%u', words: ['a', 'x%u'], pattern: false },
          { kind: 'eq', text: 'b/%c' },
        ],
        line: 1,
      },
    },
    {
      src: '{allow, {user, "a\\"b\\\\c"}, publish, ["x" "/y"]}.',
      want: { permission: 'allow', who: { kind: 'user', username: 'a"b\\c' }, access: 'publish', topics: [{ kind: 'filter', text: 'x/y', words: ['x', 'y'], pattern: false }], line: 1 },
    },
  ];
  for (const { src, want } of cases) {
    const rules = parseAclRules(src);
    assert.equal(rules.length, 1, src);
    assert.deepEqual(plain(rules)[0], want, src);
  }
});

test('the default EMQX acl.conf: comments, blank lines, multi-line rules, line numbers', () => {
  const src = `%%--------------------------------------------------------------------
%% [ACL](https://docs.emqx.io/broker/v3/en/config.html)
%%
%% -type(who() :: all | binary() |
%%                {ipaddr, esockd_access:cidr()} |
%%                {client, binary()} |
%%                {user, binary()}).
%%--------------------------------------------------------------------

{allow, {user, "dashboard"}, subscribe, ["$SYS/#"]}.

{allow, {ipaddr, "127.0.0.1"}, pubsub, ["$SYS/#", "#"]}.

{deny, all, subscribe,
    ["$SYS/#",   % trailing comment with "quotes" and {braces}.
     {eq, "#"}]
}.

{allow, all}.
`;
  const rules = parseAclRules(src);
  assert.deepEqual(
    rules.map((r) => [r.permission, r.access, r.line]),
    [
      ['allow', 'subscribe', 10],
      ['allow', 'pubsub', 12],
      ['deny', 'subscribe', 14],
      ['allow', 'pubsub', 19],
    ],
  );
  // "%" inside a string is data, not a comment.
  assert.deepEqual(plain(parseAclRules('{allow, all, publish, ["a/%u"]}. % c\n')), [
    { permission: 'allow', who: { kind: 'all' }, access: 'publish', topics: [{ kind: 'filter', text: 'a/%u', words: ['a', USERNAME], pattern: true }], line: 1 },
  ]);
  assert.deepEqual(parseAclRules(''), []);
  assert.deepEqual(parseAclRules('%% only a comment\n\n'), []);
  // Two rules on one line.
  assert.equal(parseAclRules('{allow, all}. {deny, all}.').length, 2);
});

test('parse errors carry the 1-based line and say what is wrong', () => {
  const cases: { src: string; line: number; msg: RegExp }[] = [
    { src: '{allow, all}', line: 1, msg: /missing "\." after the rule that starts on line 1/ },
    { src: '{allow, all}\n{deny, all}.', line: 1, msg: /missing "\."/ },
    { src: '\n\n{allow, all, publish,\n ["a"]\n}\n\n{deny, all}.', line: 5, msg: /starts on line 3/ },
    { src: '%% c\n{permit, all}.', line: 2, msg: /must start with allow or deny, got permit/ },
    { src: '{allow, everyone}.', line: 1, msg: /two-element rule must be \{allow, all\}/ },
    { src: '{allow, all, publish}.', line: 1, msg: /rule has 3 elements/ },
    { src: '\n{allow, all, all, ["#"]}.', line: 2, msg: /invalid access all: expected publish, subscribe or pubsub/ },
    { src: '{allow, {group, "g"}, publish, ["#"]}.', line: 1, msg: /unknown who group/ },
    { src: '{allow, {user, u1}, publish, ["#"]}.', line: 1, msg: /a user must be a string, got u1/ },
    { src: '{allow, {ipaddr, "300.0.0.1"}, publish, ["#"]}.', line: 1, msg: /invalid IP address or CIDR "300\.0\.0\.1"/ },
    { src: '{allow, {ipaddr, "10.0.0.0/33"}, publish, ["#"]}.', line: 1, msg: /invalid IP address or CIDR/ },
    { src: '{allow, {ipaddrs, "10.0.0.1"}, publish, ["#"]}.', line: 1, msg: /ipaddrs takes a list/ },
    { src: `{allow, {'and', {user, "a"}}, publish, ["#"]}.`, line: 1, msg: /'and' takes a list/ },
    { src: '{allow, all, publish,\n [\n  "a/#/b"]}.', line: 3, msg: /"#" must be the last level/ },
    { src: '{allow, all, publish, ["a/b+"]}.', line: 1, msg: /must occupy a whole level/ },
    { src: '{allow, all, publish, [""]}.', line: 1, msg: /empty topic/ },
    { src: '{allow, all, publish, [{ne, "a"}]}.', line: 1, msg: /invalid topic \{ne, "a"\}/ },
    { src: '{allow, all, publish, [a]}.', line: 1, msg: /invalid topic a/ },
    { src: '{allow, all, publish, ["a"}.', line: 1, msg: /expected "," or "\]"/ },
    { src: '{allow, all, publish, ["a]}.\n', line: 1, msg: /unterminated string/ },
    { src: '\n\n{allow, All}.', line: 3, msg: /unexpected variable All/ },
    { src: '{allow, all} ; ', line: 1, msg: /unexpected character ";"/ },
    { src: 'allow.', line: 1, msg: /expected a rule tuple, got allow/ },
    { src: '{allow, all}.\n.', line: 2, msg: /expected a term, got "\."/ },
  ];
  for (const { src, line, msg } of cases) {
    assert.throws(
      () => parseAclRules(src),
      (err: unknown) => {
        assert.ok(err instanceof AclParseError, `${src}: ${String(err)}`);
        assert.equal(err.line, line, `${src}: ${err.message}`);
        assert.match(err.reason, msg, src);
        assert.equal(err.message, `acl:${line}: ${err.reason}`);
        return true;
      },
    );
  }
});

test('loadAclFile reads a file and names it in errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-acl-'));
  const good = join(dir, 'acl.conf');
  writeFileSync(good, '{allow, {user, "u"}, publish, ["t"]}.\n{deny, all}.\n');
  assert.deepEqual(
    loadAclFile(good).map((r) => r.permission),
    ['allow', 'deny'],
  );
  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, '{allow, all}.\n{deny, nobody}.\n');
  assert.throws(() => loadAclFile(bad), (err: unknown) => err instanceof AclParseError && err.line === 2 && err.file === bad && err.message.startsWith(`${bad}:2: `));
  assert.throws(() => loadAclFile(join(dir, 'missing.conf')), /ENOENT/);
});

test('IP parsing: IPv4, IPv6, IPv4-mapped IPv6, CIDR', () => {
  const ips: [string, number[] | undefined][] = [
    ['127.0.0.1', [127, 0, 0, 1]],
    ['::ffff:127.0.0.1', [127, 0, 0, 1]],
    ['::FFFF:7f00:1', [127, 0, 0, 1]],
    ['::1', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['fe80::1%eth0', [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['256.0.0.1', undefined],
    ['1.2.3', undefined],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['1::2::3', undefined],
    ['host.example', undefined],
    ['', undefined],
  ];
  for (const [s, want] of ips) assert.deepEqual(parseIp(s) && [...parseIp(s)!], want, s);

  const canon: [string, string | undefined][] = [
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['nope', undefined],
  ];
  for (const [s, want] of canon) assert.equal(canonicalIp(s), want, s);

  const net = (s: string): Cidr => {
    const c = parseCidr(s);
    assert.ok(c, s);
    return c;
  };
  const contains: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.1.2.3/8', '10.9.9.9', true], // host bits cleared, as esockd_cidr:parse(_, true)
    ['192.168.0.0/16', '::ffff:192.168.4.5', true],
    ['192.168.128.0/17', '192.168.127.255', false],
    ['192.168.128.0/17', '192.168.200.1', true],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['0.0.0.0/0', '::1', false],
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.1', '127.0.0.2', false],
    ['::ffff:10.0.0.0/104', '10.3.4.5', true],
    ['::1', '0:0::1', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
  ];
  for (const [c, ip, want] of contains) assert.equal(cidrContains(net(c), parseIp(ip)!), want, `${c} ∋ ${ip}`);
  for (const bad of ['10.0.0.0/', '10.0.0.0/x', '10.0.0.0/33', '::/129', '::ffff:10.0.0.0/95']) assert.equal(parseCidr(bad), undefined, bad);
});
