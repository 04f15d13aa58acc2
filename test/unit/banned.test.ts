import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BannedList, loadBannedFile, type BannedAs } from '../../node/access/banned.js';

function clock(startMs = 1_536_146_187_000) {
  let t = startMs;
  return { now: () => t, advance: (s: number) => void (t += s * 1000) };
}

test('add fills EMQX defaults: by user, empty reason, at now, until at + 300 s', () => {
  const ck = clock(1_536_146_187_999); // seconds are floored
  const b = new BannedList(ck.now);
  assert.deepEqual(b.add({ who: 'c1', as: 'clientid' }), { who: 'c1', as: 'clientid', reason: '', by: 'user', at: 1536146187, until: 1536146487 });
  assert.deepEqual(b.add({ who: 'u1', as: 'username', reason: 'spam', by: 'admin', at: 100, until: 2e9 }), { who: 'u1', as: 'username', reason: 'spam', by: 'admin', at: 100, until: 2e9 });
  assert.deepEqual(b.add({ who: 'h', as: 'username', at: 1000 }).until, 1300);
});

test('isBanned by each as, checked clientid, username, peerhost', () => {
  const b = new BannedList(clock().now);
  const cases: [as: BannedAs, who: string, client: { clientid: string; username?: string; peerhost: string }][] = [
    ['clientid', 'bad-client', { clientid: 'bad-client', username: 'u', peerhost: '1.1.1.1' }],
    ['username', 'bad-user', { clientid: 'c', username: 'bad-user', peerhost: '1.1.1.1' }],
    ['peerhost', '192.0.2.9', { clientid: 'c', peerhost: '192.0.2.9' }],
    ['peerhost', '::ffff:192.0.2.10', { clientid: 'c', peerhost: '192.0.2.10' }], // mapped form stored as IPv4
    ['peerhost', '2001:DB8::1', { clientid: 'c', peerhost: '2001:db8:0::1' }],
  ];
  for (const [as, who, client] of cases) {
    assert.equal(b.isBanned(client), undefined, `${as} ${who} before`);
    b.add({ as, who, reason: as });
    assert.equal(b.isBanned(client)?.as, as, `${as} ${who}`);
  }
  assert.equal(b.isBanned({ clientid: 'c', peerhost: '::ffff:192.0.2.9' })?.who, '192.0.2.9');
  assert.equal(b.isBanned({ clientid: 'ok', username: 'ok', peerhost: '10.0.0.1' }), undefined);
  // A clientid value does not ban a username of the same text.
  assert.equal(b.isBanned({ clientid: 'x', username: 'bad-client', peerhost: '10.0.0.1' }), undefined);
  // Order: clientid first.
  assert.equal(b.isBanned({ clientid: 'bad-client', username: 'bad-user', peerhost: '192.0.2.9' })?.as, 'clientid');
  assert.equal(b.isBanned({ clientid: 'c', username: 'bad-user', peerhost: '192.0.2.9' })?.as, 'username');
});

test('expiry with an injected clock: until is exclusive, expired entries removed', () => {
  const ck = clock();
  const b = new BannedList(ck.now);
  b.add({ who: 'short', as: 'clientid' }); // 300 s
  b.add({ who: 'long', as: 'clientid', until: Math.floor(ck.now() / 1000) + 1000 });
  const short = { clientid: 'short', peerhost: '1.1.1.1' };
  ck.advance(299);
  assert.equal(b.isBanned(short)?.who, 'short');
  ck.advance(1);
  assert.equal(b.isBanned(short), undefined);
  assert.equal(b.size, 1); // removed by the lookup
  assert.deepEqual(
    b.list().map((e) => e.who),
    ['long'],
  );
  ck.advance(700);
  b.add({ who: 'u', as: 'username', until: 1 }); // already expired
  assert.equal(b.purgeExpired(), 2);
  assert.deepEqual(b.list(), []);
});

test('delete, replace on re-add, list sorted by as then who', () => {
  const b = new BannedList(clock().now);
  for (const [as, who] of [
    ['username', 'b'],
    ['clientid', 'z'],
    ['peerhost', '10.0.0.2'],
    ['clientid', 'a'],
    ['username', 'a'],
  ] as [BannedAs, string][]) {
    b.add({ as, who });
  }
  b.add({ as: 'clientid', who: 'a', reason: 'again' });
  assert.deepEqual(
    b.list().map((e) => `${e.as}:${e.who}:${e.reason}`),
    ['clientid:a:again', 'clientid:z:', 'peerhost:10.0.0.2:', 'username:a:', 'username:b:'],
  );
  assert.equal(b.delete('clientid', 'a'), true);
  assert.equal(b.delete('clientid', 'a'), false);
  assert.equal(b.delete('username', 'z'), false); // wrong as
  assert.equal(b.delete('peerhost', '::ffff:10.0.0.2'), true);
  assert.deepEqual(
    b.list().map((e) => `${e.as}:${e.who}`),
    ['clientid:z', 'username:a', 'username:b'],
  );
  // list() returns copies.
  b.list()[0]!.reason = 'mutated';
  assert.equal(b.list()[0]!.reason, '');
});

test('add rejects bad entries', () => {
  const b = new BannedList();
  const bad: [unknown, RegExp][] = [
    [{ who: 'x', as: 'ip' }, /"as" must be one of clientid, username, peerhost/],
    [{ who: '', as: 'clientid' }, /"who" must be a non-empty string/],
    [{ who: 'not-an-ip', as: 'peerhost' }, /must be an IP address/],
    [{ who: 'x', as: 'clientid', until: '10' }, /"until" must be a number/],
    [{ who: 'x', as: 'clientid', reason: 5 }, /"reason" must be a string/],
  ];
  for (const [e, msg] of bad) assert.throws(() => b.add(e as never), msg);
  assert.equal(b.size, 0);
});

test('replaceAll swaps the whole table', () => {
  const ck = clock();
  const b = new BannedList(ck.now);
  b.add({ who: 'old', as: 'clientid' });
  const until = Math.floor(ck.now() / 1000) + 60;
  b.replaceAll([
    { who: 'n1', as: 'username', reason: 'r', by: 'cluster', at: 1, until },
    { who: '::ffff:10.0.0.1', as: 'peerhost', reason: '', by: 'cluster', at: 1, until },
  ]);
  assert.equal(b.isBanned({ clientid: 'old', peerhost: '1.1.1.1' }), undefined);
  assert.equal(b.isBanned({ clientid: 'x', username: 'n1', peerhost: '1.1.1.1' })?.by, 'cluster');
  assert.equal(b.isBanned({ clientid: 'x', peerhost: '10.0.0.1' })?.who, '10.0.0.1');
  assert.throws(() => b.replaceAll([{ who: 'x', as: 'bogus' as BannedAs, reason: '', by: '', at: 0, until: 0 }]), /"as"/);
  assert.equal(b.size, 2); // unchanged after the failed replace
});

test('loadBannedFile fills defaults and names bad entries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-banned-'));
  const good = join(dir, 'banned.json');
  writeFileSync(good, JSON.stringify([{ as: 'clientid', who: 'c', reason: 'r', until: 2000000000 }, { as: 'peerhost', who: '::ffff:1.2.3.4' }]));
  assert.deepEqual(loadBannedFile(good, () => 1_000_000_000_000), [
    { who: 'c', as: 'clientid', reason: 'r', by: 'user', at: 1000000000, until: 2000000000 },
    { who: '1.2.3.4', as: 'peerhost', reason: '', by: 'user', at: 1000000000, until: 1000000300 },
  ]);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify([{ as: 'clientid', who: 'c' }, { as: 'username' }]));
  assert.throws(() => loadBannedFile(bad), new RegExp(`banned file ${bad}: entry 1: "who"`));
  writeFileSync(bad, '{}');
  assert.throws(() => loadBannedFile(bad), /expected a JSON array/);
});
