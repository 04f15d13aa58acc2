import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { parseAutoSubscribe } from '../../node/features/auto-subscribe.js';
import { newMessage } from '../../shared/message.js';
import { parseRewriteRules, TopicRewriter, type RewriteRule } from '../../node/features/rewrite.js';

const rule = (action: RewriteRule['action'], source_topic: string, re: string, dest_topic: string): RewriteRule => ({ action, source_topic, re, dest_topic });

function pub(rw: TopicRewriter, topic: string, from = 'c1', username: string | null = 'u1'): string {
  const msg = newMessage({ topic, payload: Buffer.from('x'), qos: 0, retain: false, from, fromUsername: username ?? undefined });
  rw.publish(msg);
  return msg.topic;
}

test('rewrite rules table: match, no match, $N substitution, action kinds, order', () => {
  const rw = new TopicRewriter([
    rule('all', 'x/#', '^x/y/(.+)$', 'z/y/$1'),
    rule('subscribe', 'y/+/z/#', '^y/(.+)/z/(.+)$', 'y/z/$2'),
    rule('publish', 'p/#', '^p/(\\w+)/(\\w+)$', 'q/$2/$1'),
    // shadowed: x/# came first, so x/a/b never reaches this one
    rule('all', 'x/a/#', '^x/a/(.+)$', 'never/$1'),
    rule('all', 'c/#', '^c/(.+)$', 'clients/%c/%u/$1'),
  ]);
  const table: [string, 'pub' | 'sub', string, string][] = [
    ['$N from the regex', 'pub', 'x/y/1/2', 'z/y/1/2'],
    ['same rule for SUBSCRIBE (all)', 'sub', 'x/y/+', 'z/y/+'],
    ['filter matches, regex does not: unchanged (EMQX)', 'pub', 'x/q', 'x/q'],
    ['first filter that matches wins', 'pub', 'x/a/b', 'x/a/b'],
    ['subscribe-only rule leaves PUBLISH alone', 'pub', 'y/a/z/b', 'y/a/z/b'],
    ['subscribe-only rule on SUBSCRIBE', 'sub', 'y/a/z/b', 'y/z/b'],
    ['publish-only rule with two captures', 'pub', 'p/one/two', 'q/two/one'],
    ['publish-only rule leaves SUBSCRIBE alone', 'sub', 'p/one/two', 'p/one/two'],
    ['no rule matches', 'pub', 'other/t', 'other/t'],
    ['%c and %u', 'pub', 'c/t', 'clients/c1/u1/t'],
  ];
  for (const [what, kind, topic, want] of table) {
    const got = kind === 'pub' ? pub(rw, topic) : rw.filter(topic, 'c1', 'u1');
    assert.equal(got, want, what);
  }
  // no username: %u stays as it is, as EMQX leaves it
  assert.equal(pub(rw, 'c/t', 'c9', null), 'clients/c9/%u/t');
  // a shared subscription's filter is rewritten, its prefix kept
  assert.equal(rw.filter('$share/g/x/y/1', 'c1', 'u1'), '$share/g/z/y/1');
  assert.equal(rw.filter('$queue/x/y/1', 'c1', 'u1'), '$queue/z/y/1');
  // a clientid that would put a wildcard in a topic name: the message keeps its topic
  assert.equal(pub(rw, 'c/t', 'bad+id'), 'c/t');
});

test('rewrite rules are checked: a bad rule is a config error naming its position', () => {
  assert.deepEqual(parseRewriteRules(undefined), []);
  assert.deepEqual(parseRewriteRules('[{"source_topic":"a/#","re":"^a/(.+)$","dest_topic":"b/$1"}]'), [rule('all', 'a/#', '^a/(.+)$', 'b/$1')]);
  const bad: [string, RegExp][] = [
    ['[{"action":"all","source_topic":"a/#","re":"^a/(.+$","dest_topic":"b/$1"}]', /rewriteRules\[0\]\.re: Invalid regular expression/],
    ['[{"action":"all","source_topic":"a/#","re":"a","dest_topic":"b"},{"action":"pub","source_topic":"a","re":"a","dest_topic":"b"}]', /rewriteRules\[1\]\.action/],
    ['[{"action":"all","source_topic":"a/#/b","re":"a","dest_topic":"b"}]', /rewriteRules\[0\]\.source_topic/],
    ['[{"action":"publish","source_topic":"a/#","re":"a","dest_topic":"b/+"}]', /rewriteRules\[0\]\.dest_topic .* topic name/],
    ['[{"action":"all","source_topic":"a/#","dest_topic":"b"}]', /rewriteRules\[0\]\.re must be/],
    ['{"a":1}', /must be a JSON array/],
    ['[', /not JSON/],
  ];
  for (const [raw, msg] of bad) assert.throws(() => parseRewriteRules(raw), (err: Error) => err instanceof ConfigError && msg.test(err.message), raw);
  // a wildcard destination is fine for SUBSCRIBE
  assert.equal(parseRewriteRules('[{"action":"subscribe","source_topic":"a/#","re":"a","dest_topic":"b/+"}]').length, 1);
});

test('the config file may give the rules and topic lists as JSON values', () => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-cfg-'));
  const file = join(dir, 'config.json');
  const rules = [{ action: 'all', source_topic: 'a/#', re: '^a/(.+)$', dest_topic: 'b/$1' }];
  writeFileSync(file, JSON.stringify({ rewriteRules: rules, autoSubscribe: [{ topic: 'c/%c', qos: 1 }], webHookHeaders: { 'x-a': '1' } }));
  try {
    const cfg = loadConfig({ STARLING_CONFIG: file }, []);
    assert.deepEqual(parseRewriteRules(cfg.rewriteRules), rules);
    assert.deepEqual(parseAutoSubscribe(cfg.autoSubscribe), [{ topic: 'c/%c', qos: 1, nl: false, rap: false, rh: 0 }]);
    assert.deepEqual(JSON.parse(cfg.webHookHeaders!), { 'x-a': '1' });
  } finally {
    rmSync(dir, { recursive: true });
  }
});
