import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Authenticator, loadUsersFile, type AuthResult, type UserEntry } from '../../node/access/auth.js';

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

const users: UserEntry[] = [
  { username: 'plain', password: 'pw1' },
  { username: 'hashed', password: `sha256:${hex('pw2')}` },
  { username: 'HASHUP', password: `sha256:${hex('pw3').toUpperCase()}` },
  { username: 'salted', password: `sha256:s4lt:${hex('s4ltpw4')}` },
  { username: 'colon', password: `sha256:a:b:${hex('a:bpw5')}` }, // salt is everything up to the last ":"
];

const buf = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s));

test('authenticate: every rule, with and without anonymous access', () => {
  const cases: [username: string | undefined, password: string | undefined, anonymous: AuthResult, strict: AuthResult][] = [
    ['plain', 'pw1', 'ok', 'ok'],
    ['plain', 'pw2', 'bad_username_or_password', 'bad_username_or_password'],
    ['plain', undefined, 'bad_username_or_password', 'bad_username_or_password'],
    ['plain', '', 'bad_username_or_password', 'bad_username_or_password'],
    ['plain', 'pw1 ', 'bad_username_or_password', 'bad_username_or_password'],
    ['hashed', 'pw2', 'ok', 'ok'],
    ['hashed', `sha256:${hex('pw2')}`, 'bad_username_or_password', 'bad_username_or_password'], // the hash is not the password
    ['HASHUP', 'pw3', 'ok', 'ok'],
    ['salted', 'pw4', 'ok', 'ok'],
    ['salted', 's4ltpw4', 'bad_username_or_password', 'bad_username_or_password'],
    ['colon', 'pw5', 'ok', 'ok'],
    [undefined, undefined, 'anonymous', 'not_authorized'],
    ['', 'pw1', 'anonymous', 'not_authorized'],
    ['stranger', 'pw1', 'anonymous', 'bad_username_or_password'],
    ['PLAIN', 'pw1', 'anonymous', 'bad_username_or_password'], // usernames are case-sensitive
  ];
  const open = new Authenticator({ allowAnonymous: true, users });
  const strict = new Authenticator({ allowAnonymous: false, users });
  for (const [u, p, wantOpen, wantStrict] of cases) {
    assert.equal(open.authenticate(u, buf(p)), wantOpen, `anonymous allowed: ${u}/${p}`);
    assert.equal(strict.authenticate(u, buf(p)), wantStrict, `anonymous denied: ${u}/${p}`);
  }
});

test('passwords are compared as bytes', () => {
  const a = new Authenticator({ allowAnonymous: false, users: [{ username: 'u', password: 'pässwörd' }] });
  assert.equal(a.authenticate('u', Buffer.from('pässwörd', 'utf8')), 'ok');
  assert.equal(a.authenticate('u', Buffer.from('pässwörd', 'latin1')), 'bad_username_or_password');
});

test('setUsers replaces the table; a bad table is rejected and the old one kept', () => {
  const a = new Authenticator({ allowAnonymous: false, users });
  a.setUsers([{ username: 'new', password: 'n' }]);
  assert.equal(a.authenticate('new', buf('n')), 'ok');
  assert.equal(a.authenticate('plain', buf('pw1')), 'bad_username_or_password');
  assert.throws(() => a.setUsers([{ username: 'x', password: 'sha256:nothex' }]), /user "x": password starting "sha256:"/);
  assert.throws(() => a.setUsers([{ username: 'x', password: 'a' }, { username: 'x', password: 'b' }]), /duplicate user "x"/);
  assert.equal(a.authenticate('new', buf('n')), 'ok');
});

test('loadUsersFile: valid file and each bad shape', () => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-users-'));
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const good = write('users.json', JSON.stringify([{ username: 'a', password: 'x', extra: true }, { username: 'b', password: `sha256:${hex('y')}` }]));
  assert.deepEqual(loadUsersFile(good), [
    { username: 'a', password: 'x' },
    { username: 'b', password: `sha256:${hex('y')}` },
  ]);
  const bad: [string, RegExp][] = [
    ['{not json', /users file .*: .*JSON/],
    ['{"username":"a","password":"b"}', /expected a JSON array/],
    ['["a"]', /entry 0: expected an object/],
    ['[null]', /entry 0: expected an object/],
    ['[{"username":"a","password":"b"},{"password":"c"}]', /entry 1: "username" must be a non-empty string/],
    ['[{"username":"","password":"c"}]', /entry 0: "username" must be a non-empty string/],
    ['[{"username":"a","password":5}]', /entry 0: "password" must be a non-empty string/],
    ['[{"username":"a"}]', /entry 0: "password" must be a non-empty string/],
    ['[{"username":"a","password":"x"},{"username":"a","password":"y"}]', /entry 1: duplicate username "a"/],
    ['[{"username":"a","password":"sha256:abc"}]', /entry 0: .*sha256:<64 hex>/],
  ];
  bad.forEach(([text, msg], i) => {
    const p = write(`bad${i}.json`, text);
    assert.throws(() => loadUsersFile(p), (err: unknown) => err instanceof Error && msg.test(err.message) && err.message.includes(p), text);
  });
  assert.throws(() => loadUsersFile(join(dir, 'missing.json')), /ENOENT/);
});
