import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAclRules } from '../../node/access/acl-rules.js';
import { Acl, type AclAccess, type AclResult, type AclSubject } from '../../node/access/acl.js';

type Case = [subject: AclSubject, access: AclAccess, topic: string, want: AclResult];

const alice: AclSubject = { clientid: 'c-alice', username: 'alice', peerhost: '10.1.2.3' };
const anon: AclSubject = { clientid: 'c-anon', peerhost: '192.0.2.7' };
const local: AclSubject = { clientid: 'c-local', username: 'bob', peerhost: '127.0.0.1' };

function run(rules: string, noMatch: AclResult, cases: Case[]): void {
  const acl = new Acl(parseAclRules(rules), noMatch);
  for (const [subject, access, topic, want] of cases) {
    assert.equal(acl.check(subject, access, topic), want, `${JSON.stringify(subject)} ${access} ${topic}`);
  }
}

test('first matching rule wins, else noMatch', () => {
  const rules = `
    {deny, {user, "alice"}, publish, ["a/secret"]}.
    {allow, {user, "alice"}, publish, ["a/#"]}.
    {deny, all, publish, ["a/#"]}.
  `;
  const cases: Case[] = [
    [alice, 'publish', 'a/secret', 'deny'],
    [alice, 'publish', 'a/public', 'allow'],
    [alice, 'publish', 'a', 'allow'], // "a/#" covers its parent level
    [anon, 'publish', 'a/public', 'deny'],
    [alice, 'publish', 'b', 'deny'], // no rule: noMatch
    [alice, 'subscribe', 'a/public', 'deny'], // publish rules do not apply to subscribe
  ];
  run(rules, 'deny', cases);
  const acl = new Acl(parseAclRules(rules), 'allow');
  assert.equal(acl.check(alice, 'publish', 'b'), 'allow');
  assert.equal(acl.match(alice, 'publish', 'a/x')?.line, 3);
  assert.equal(acl.match(alice, 'publish', 'b'), undefined);
});

test('{allow, all} and {deny, all} match every client, access and topic', () => {
  run('{deny, {user, "alice"}, pubsub, ["x"]}.\n{allow, all}.\n{deny, all}.', 'deny', [
    [alice, 'publish', 'x', 'deny'],
    [alice, 'subscribe', 'y/#', 'allow'],
    [anon, 'publish', '$SYS/brokers', 'allow'],
  ]);
  run('{deny, all}.\n{allow, all}.', 'allow', [
    [alice, 'publish', 'x', 'deny'],
    [anon, 'subscribe', '#', 'deny'],
  ]);
});

test('who: user, client, ipaddr, ipaddrs, and, or, all', () => {
  const rules = `
    {allow, {user, "alice"}, publish, ["w/user"]}.
    {allow, {client, "c-anon"}, publish, ["w/client"]}.
    {allow, {ipaddr, "127.0.0.1"}, publish, ["w/ip"]}.
    {allow, {ipaddr, "10.0.0.0/8"}, publish, ["w/cidr"]}.
    {allow, {ipaddrs, ["127.0.0.1", "192.0.2.0/24"]}, publish, ["w/ips"]}.
    {allow, {'and', [{user, "alice"}, {client, "c-alice"}]}, publish, ["w/and"]}.
    {allow, {'and', [{user, "alice"}, {client, "other"}]}, publish, ["w/and2"]}.
    {allow, {'or', [{user, "nobody"}, {ipaddr, "192.0.2.0/24"}]}, publish, ["w/or"]}.
    {allow, {user, all}, publish, ["w/anyuser"]}.
    {allow, {client, all}, publish, ["w/anyclient"]}.
    {allow, all, publish, ["w/all"]}.
  `;
  const cases: Case[] = [
    [alice, 'publish', 'w/user', 'allow'],
    [anon, 'publish', 'w/user', 'deny'],
    [{ ...anon, username: '' }, 'publish', 'w/user', 'deny'],
    [anon, 'publish', 'w/client', 'allow'],
    [alice, 'publish', 'w/client', 'deny'],
    [local, 'publish', 'w/ip', 'allow'],
    [{ ...local, peerhost: '::ffff:127.0.0.1' }, 'publish', 'w/ip', 'allow'],
    [alice, 'publish', 'w/ip', 'deny'],
    [alice, 'publish', 'w/cidr', 'allow'],
    [{ ...alice, peerhost: '11.0.0.1' }, 'publish', 'w/cidr', 'deny'],
    [{ ...alice, peerhost: 'not-an-ip' }, 'publish', 'w/cidr', 'deny'],
    [local, 'publish', 'w/ips', 'allow'],
    [anon, 'publish', 'w/ips', 'allow'],
    [alice, 'publish', 'w/ips', 'deny'],
    [alice, 'publish', 'w/and', 'allow'],
    [{ ...alice, clientid: 'x' }, 'publish', 'w/and', 'deny'],
    [alice, 'publish', 'w/and2', 'deny'],
    [anon, 'publish', 'w/or', 'allow'],
    [alice, 'publish', 'w/or', 'deny'],
    [anon, 'publish', 'w/anyuser', 'allow'],
    [anon, 'publish', 'w/anyclient', 'allow'],
    [anon, 'publish', 'w/all', 'allow'],
  ];
  run(rules, 'deny', cases);
});

test('IPv6 peers: literal equality, IPv6 CIDR, not matched by IPv4 rules', () => {
  run('{allow, {ipaddr, "::1"}, publish, ["v6"]}.\n{allow, {ipaddr, "2001:db8::/32"}, publish, ["v6net"]}.\n{allow, {ipaddr, "0.0.0.0/0"}, publish, ["v4"]}.', 'deny', [
    [{ clientid: 'c', peerhost: '::1' }, 'publish', 'v6', 'allow'],
    [{ clientid: 'c', peerhost: '0:0:0:0:0:0:0:1' }, 'publish', 'v6', 'allow'],
    [{ clientid: 'c', peerhost: '::2' }, 'publish', 'v6', 'deny'],
    [{ clientid: 'c', peerhost: '2001:db8:1::5' }, 'publish', 'v6net', 'allow'],
    [{ clientid: 'c', peerhost: '::1' }, 'publish', 'v4', 'deny'],
    [{ clientid: 'c', peerhost: '::ffff:8.8.8.8' }, 'publish', 'v4', 'allow'],
  ]);
});

test('%u and %c placeholders', () => {
  const rules = `
    {allow, all, pubsub, ["users/%u/#", "clients/%c/+", "both/%u/%c"]}.
  `;
  const cases: Case[] = [
    [alice, 'publish', 'users/alice/inbox', 'allow'],
    [alice, 'publish', 'users/bob/inbox', 'deny'],
    [alice, 'subscribe', 'users/alice/#', 'allow'],
    [alice, 'subscribe', 'users/+/inbox', 'deny'], // "+" of the subscriber is not alice
    [anon, 'publish', 'users/%u/inbox', 'deny'], // no username: %u rules never match
    [{ ...anon, username: '' }, 'publish', 'users//inbox', 'deny'],
    [anon, 'publish', 'clients/c-anon/x', 'allow'],
    [anon, 'publish', 'clients/c-alice/x', 'deny'],
    [alice, 'publish', 'both/alice/c-alice', 'allow'],
    [alice, 'publish', 'both/alice/c-bob', 'deny'],
    // Values with topic syntax cannot widen a rule.
    [{ clientid: '#', peerhost: '1.1.1.1' }, 'subscribe', 'clients/#', 'deny'],
    [{ clientid: '+', peerhost: '1.1.1.1' }, 'subscribe', 'clients/+/x', 'deny'],
    [{ clientid: 'a/b', peerhost: '1.1.1.1' }, 'publish', 'clients/a/b/x', 'deny'],
  ];
  run(rules, 'deny', cases);
});

test('{eq, T} needs exact equality, wildcards and placeholders literal', () => {
  const rules = '{deny, all, subscribe, [{eq, "#"}, {eq, "a/+"}, {eq, "u/%u"}]}.\n{allow, all}.';
  run(rules, 'deny', [
    [alice, 'subscribe', '#', 'deny'],
    [alice, 'subscribe', 'a/#', 'allow'],
    [alice, 'subscribe', 'x/#', 'allow'],
    [alice, 'subscribe', 'a/+', 'deny'],
    [alice, 'subscribe', 'a/b', 'allow'],
    [alice, 'subscribe', 'u/alice', 'allow'],
    [alice, 'subscribe', 'u/%u', 'deny'],
    [alice, 'publish', '#', 'allow'], // subscribe-only rule
  ]);
});

test('$-topics are not matched by rule filters starting with + or #', () => {
  const rules = `
    {allow, {user, "dashboard"}, subscribe, ["$SYS/#"]}.
    {allow, all, pubsub, ["#"]}.
    {allow, all, publish, ["+/status"]}.
  `;
  const dash: AclSubject = { clientid: 'd', username: 'dashboard', peerhost: '10.0.0.1' };
  run(rules, 'deny', [
    [dash, 'subscribe', '$SYS/brokers/+/clients/#', 'allow'],
    [alice, 'subscribe', '$SYS/brokers', 'deny'],
    [alice, 'subscribe', '$SYS/#', 'deny'],
    [alice, 'publish', '$SYS/x', 'deny'],
    [alice, 'publish', '$share/status', 'deny'],
    [alice, 'publish', 'dev/status', 'allow'],
    [alice, 'subscribe', 'a/$b', 'allow'], // only a leading $ matters
  ]);
});

test('publish: topic names against rule filters', () => {
  const rules = '{allow, all, publish, ["a/+/c", "b/#", "exact", "e/+"]}.';
  const cases: [string, AclResult][] = [
    ['a/b/c', 'allow'],
    ['a//c', 'allow'], // an empty level is a level
    ['a/b/c/d', 'deny'],
    ['a/c', 'deny'],
    ['b', 'allow'],
    ['b/x/y/z', 'allow'],
    ['bb/x', 'deny'],
    ['exact', 'allow'],
    ['exact/', 'deny'],
    ['e/', 'allow'],
    ['e', 'deny'],
    ['/exact', 'deny'],
  ];
  run(
    rules,
    'deny',
    cases.map(([t, want]) => [alice, 'publish', t, want]),
  );
});

test('subscribe: the subscribed filter matched as emqx_topic:match/2 does', () => {
  const rules = '{allow, all, subscribe, ["a/+", "b/#", "c/d", "p/+/q"]}.';
  const cases: [string, AclResult][] = [
    ['a/x', 'allow'],
    ['a/+', 'allow'], // "+" of the subscriber against "+" of the rule
    ['a/#', 'allow'], // EMQX: the rule's "+" matches any one word, "#" included
    ['a/x/y', 'deny'],
    ['a/+/y', 'deny'],
    ['b/#', 'allow'],
    ['b/+/x', 'allow'],
    ['b', 'allow'],
    ['#', 'deny'], // the subscriber's "#" is a literal word, not a wildcard over the rule
    ['+/x', 'deny'],
    ['c/d', 'allow'],
    ['c/+', 'deny'],
    ['c/#', 'deny'],
    ['p/+/q', 'allow'],
    ['p/x/q', 'allow'],
    ['p/#', 'deny'],
  ];
  run(
    rules,
    'deny',
    cases.map(([t, want]) => [alice, 'subscribe', t, want]),
  );
});

test('pubsub rules apply to both; publish/subscribe rules to one', () => {
  run('{allow, all, publish, ["p"]}.\n{allow, all, subscribe, ["s"]}.\n{allow, all, pubsub, ["ps"]}.', 'deny', [
    [alice, 'publish', 'p', 'allow'],
    [alice, 'subscribe', 'p', 'deny'],
    [alice, 'publish', 's', 'deny'],
    [alice, 'subscribe', 's', 'allow'],
    [alice, 'publish', 'ps', 'allow'],
    [alice, 'subscribe', 'ps', 'allow'],
  ]);
});

test('no rules: noMatch decides', () => {
  assert.equal(new Acl([], 'allow').check(alice, 'publish', 'x'), 'allow');
  assert.equal(new Acl([], 'deny').check(alice, 'subscribe', 'x'), 'deny');
});
