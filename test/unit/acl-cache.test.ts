import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AclCache } from '../../node/access/acl-cache.js';
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { AccessControl, DEFAULT_ACL_FILE, NO_ACL_FILE, aclFilePath } from '../../node/access/index.js';
import { loadConfig } from '../../shared/config.js';
import { Acl } from '../../node/access/acl.js';
import { parseAclRules } from '../../node/access/acl-rules.js';
import { coarseClock } from '../../node/access/coarse-clock.js';

function clock(start = 1582180824571) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

test('get/put per access and topic', () => {
  const c = new AclCache(10, 60_000, clock().now);
  assert.equal(c.size, 0);
  assert.equal(c.get('publish', 'a'), undefined);
  c.put('publish', 'a', 'allow');
  c.put('subscribe', 'a', 'deny');
  assert.equal(c.get('publish', 'a'), 'allow');
  assert.equal(c.get('subscribe', 'a'), 'deny');
  assert.equal(c.get('publish', 'b'), undefined);
  c.put('publish', 'a', 'deny'); // overwrite, not a second entry
  assert.equal(c.get('publish', 'a'), 'deny');
  assert.equal(c.size, 2);
  c.clear();
  assert.equal(c.size, 0);
  assert.equal(c.get('subscribe', 'a'), undefined);
});

test('entries have the EMQX API shape with epoch-ms updated_time, oldest first', () => {
  const ck = clock();
  const c = new AclCache(10, 60_000, ck.now);
  assert.deepEqual(c.entries(), []);
  c.put('publish', 'test', 'allow');
  ck.advance(5);
  c.put('subscribe', 'x/#', 'deny');
  assert.deepEqual(c.entries(), [
    { access: 'publish', topic: 'test', result: 'allow', updated_time: 1582180824571 },
    { access: 'subscribe', topic: 'x/#', result: 'deny', updated_time: 1582180824576 },
  ]);
  ck.advance(5);
  c.put('publish', 'test', 'deny'); // a re-put is newest again
  assert.deepEqual(
    c.entries().map((e) => [e.topic, e.result, e.updated_time]),
    [
      ['x/#', 'deny', 1582180824576],
      ['test', 'deny', 1582180824581],
    ],
  );
});

test('entries older than the TTL are misses and are dropped', () => {
  const ck = clock(0);
  const c = new AclCache(10, 1000, ck.now);
  c.put('publish', 'old', 'allow');
  ck.advance(500);
  c.put('publish', 'new', 'deny');
  ck.advance(499);
  assert.equal(c.get('publish', 'old'), 'allow'); // 999 ms old
  ck.advance(1);
  assert.equal(c.get('publish', 'old'), undefined); // 1000 ms: expired
  assert.equal(c.size, 1);
  assert.equal(c.get('publish', 'new'), 'deny');
  ck.advance(500);
  assert.deepEqual(c.entries(), []);
  assert.equal(c.size, 0);
});

test('when full the oldest entry is evicted', () => {
  const ck = clock();
  const c = new AclCache(3, 60_000, ck.now);
  for (const t of ['a', 'b', 'c']) {
    c.put('publish', t, 'allow');
    ck.advance(1);
  }
  c.put('publish', 'a', 'deny'); // refresh "a": "b" is now oldest
  c.put('publish', 'd', 'allow');
  assert.equal(c.size, 3);
  assert.deepEqual(
    c.entries().map((e) => e.topic),
    ['c', 'a', 'd'],
  );
  assert.equal(c.get('publish', 'b'), undefined);
});

test('a full cache drops expired entries before evicting live ones', () => {
  const ck = clock();
  const c = new AclCache(3, 100, ck.now);
  c.put('publish', 'a', 'allow');
  c.put('publish', 'b', 'allow');
  ck.advance(50);
  c.put('publish', 'c', 'allow');
  ck.advance(60); // a and b expired, c live
  c.put('publish', 'd', 'allow');
  assert.equal(c.size, 2); // both expired went, not just the one eviction needed
  assert.deepEqual(
    c.entries().map((e) => e.topic),
    ['c', 'd'],
  );
});

test('maxSize 0 caches nothing', () => {
  const c = new AclCache(0, 1000);
  c.put('publish', 'a', 'allow');
  assert.equal(c.get('publish', 'a'), undefined);
  assert.equal(c.size, 0);
});

test('AccessControl: cache first, then rules; onCheck on every check', () => {
  const ck = clock();
  let checks = 0;
  const ac = new AccessControl({
    acl: new Acl(parseAclRules('{allow, {user, "u"}, publish, ["t/#"]}.'), 'deny'),
    cacheEnabled: true,
    cacheMaxSize: 8,
    cacheTtlMs: 1000,
    onCheck: () => void checks++,
    now: ck.now,
  });
  const subject = { clientid: 'c', username: 'u', peerhost: '127.0.0.1' };
  const cache = ac.newCache();
  assert.ok(cache);
  assert.equal(ac.check(subject, cache, 'publish', 't/1'), 'allow');
  assert.equal(ac.check(subject, cache, 'publish', 'x'), 'deny');
  assert.deepEqual(
    cache.entries().map((e) => [e.access, e.topic, e.result]),
    [
      ['publish', 't/1', 'allow'],
      ['publish', 'x', 'deny'],
    ],
  );
  // A cached result is served even if the rules would now say otherwise.
  cache.put('publish', 'x', 'allow');
  assert.equal(ac.check(subject, cache, 'publish', 'x'), 'allow');
  assert.equal(checks, 3);
  // Without a cache every check evaluates the rules.
  assert.equal(ac.check(subject, undefined, 'publish', 'x'), 'deny');
  assert.equal(checks, 4);
});

test('AccessControl: no ACL allows everything and caches nothing; cache disabled gives no cache', () => {
  let checks = 0;
  const open = new AccessControl({ acl: undefined, cacheEnabled: true, cacheMaxSize: 8, cacheTtlMs: 1000, onCheck: () => void checks++ });
  assert.equal(open.newCache(), undefined);
  const cache = new AclCache(8, 1000);
  assert.equal(open.check({ clientid: 'c', peerhost: '1.2.3.4' }, cache, 'subscribe', '#'), 'allow');
  assert.equal(cache.size, 0);
  assert.equal(checks, 1);

  const acl = new Acl([], 'deny');
  assert.equal(new AccessControl({ acl, cacheEnabled: false, cacheMaxSize: 8, cacheTtlMs: 1000 }).newCache(), undefined);
  assert.equal(new AccessControl({ acl, cacheEnabled: true, cacheMaxSize: 0, cacheTtlMs: 1000 }).newCache(), undefined);
});

test('AccessControl.fromConfig', () => {
  const base = { aclFile: undefined, aclNoMatch: 'allow' as const, aclCacheEnable: true, aclCacheMaxSize: 32, aclCacheTtlMs: 60000 };
  assert.equal(AccessControl.fromConfig(base).acl, undefined);
  const denyAll = AccessControl.fromConfig({ ...base, aclNoMatch: 'deny' });
  assert.equal(denyAll.check({ clientid: 'c', peerhost: '1.2.3.4' }, undefined, 'publish', 't'), 'deny');
  const c = denyAll.newCache();
  assert.equal(c?.maxSize, 32);
  assert.equal(c?.ttlMs, 60000);
});

test('the default ACL: the package\'s etc/acl.conf, EMQX\'s rules, unless STARLING_ACL_FILE says otherwise', () => {
  const cfg = loadConfig({}, []);
  assert.equal(cfg.aclFile, DEFAULT_ACL_FILE);
  // wherever the process runs: the path is the package's, not the working directory's
  const path = aclFilePath(cfg.aclFile)!;
  assert.ok(isAbsolute(path) && existsSync(path), path);
  const ac = AccessControl.fromConfig(cfg);
  assert.equal(ac.acl?.rules.length, 4);
  const local = { clientid: 'c', peerhost: '127.0.0.1' };
  const remote = { clientid: 'c', peerhost: '10.1.2.3' };
  const dashboard = { clientid: 'd', username: 'dashboard', peerhost: '10.1.2.3' };
  assert.equal(ac.check(local, undefined, 'subscribe', '#'), 'allow');
  assert.equal(ac.check(local, undefined, 'subscribe', '$SYS/brokers'), 'allow');
  assert.equal(ac.check(remote, undefined, 'subscribe', '#'), 'deny');
  assert.equal(ac.check(remote, undefined, 'subscribe', '$SYS/#'), 'deny');
  assert.equal(ac.check(remote, undefined, 'subscribe', 'a/#'), 'allow');
  assert.equal(ac.check(remote, undefined, 'publish', '$SYS/x'), 'allow');
  assert.equal(ac.check(dashboard, undefined, 'subscribe', '$SYS/#'), 'allow');
  // so every client gets a cache, and it fills
  const cache = ac.newCache()!;
  ac.check(remote, cache, 'publish', 't/1');
  assert.deepEqual(cache.entries().map((e) => [e.access, e.topic, e.result]), [['publish', 't/1', 'allow']]);

  // `none`: no file, the old behaviour (aclNoMatch alone)
  const none = AccessControl.fromConfig(loadConfig({ STARLING_ACL_FILE: NO_ACL_FILE }, []));
  assert.equal(none.acl, undefined);
  assert.equal(none.newCache(), undefined);
  const denyAll = AccessControl.fromConfig(loadConfig({ STARLING_ACL_FILE: 'none', STARLING_ACL_NOMATCH: 'deny' }, []));
  assert.equal(denyAll.check(local, undefined, 'publish', 't'), 'deny');
  // another file: that one, relative to the working directory as any path
  assert.equal(aclFilePath('my/acl.conf'), 'my/acl.conf');
  assert.throws(() => AccessControl.fromConfig(loadConfig({ STARLING_ACL_FILE: '/nonexistent/acl.conf' }, [])));
});

test('the caches\' default clock: coarse, never ahead of Date.now(), and it advances', async () => {
  const now = coarseClock();
  assert.equal(coarseClock(), now, 'one clock');
  const first = now();
  assert.ok(first <= Date.now(), `${first} vs ${Date.now()}`);
  // its 10 ms tick is due before a 40 ms timeout set after it: by then it read a time after this one
  const before = Date.now();
  await new Promise((r) => setTimeout(r, 40));
  assert.ok(now() >= before && now() <= Date.now(), `${now()} vs ${before}..${Date.now()}`);
});
