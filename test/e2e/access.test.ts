// Access control end to end: authentication from STARLING_USERS_FILE, ACL rules from an
// EMQX acl.conf file (STARLING_ACL_FILE) and bans from STARLING_BANNED_FILE, with MQTT 3.1.1
// and MQTT 5 clients against real broker processes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IConnectPacket } from 'mqtt-packet';
import { startNode, type NodeProcess } from '../support/broker.js';
import { RawClient, openClient, uid, type Scope } from '../support/mqtt5.js';

const sha256hex = (s: string): string => createHash('sha256').update(s).digest('hex');

const USERS = [
  { username: 'alice', password: 'secret' },
  { username: 'bob', password: `sha256:${sha256hex('hunter2')}` },
  { username: 'carol', password: `sha256:pepper:${sha256hex('pepper' + 'open sesame')}` },
];

// First match wins; a check no rule matches is denied (STARLING_ACL_NOMATCH=deny).
const ACL = `%% e2e rules
{allow, all, pubsub, ["sync/%c"]}.
{allow, {user, "admin"}, pubsub, ["#"]}.
{allow, {client, "cid-ok"}, pubsub, ["byclient/#"]}.
{allow, {ipaddr, "127.0.0.1"}, subscribe, ["byip/#"]}.
{allow, {ipaddr, "10.0.0.0/8"}, pubsub, ["byip10/#"]}.
{allow, {user, "writer"}, publish, ["ps/#"]}.
{allow, {user, "reader"}, subscribe, ["ps/#"]}.
{allow, {user, "both"}, pubsub, ["ps/#"]}.
{allow, all, publish, ["devices/%c/#"]}.
{allow, all, subscribe, ["users/%u/inbox"]}.
{deny, all, subscribe, [{eq, "#"}]}.
{allow, {user, "wild"}, subscribe, ["#"]}.
{deny, all, pubsub, ["order/secret"]}.
{allow, all, pubsub, ["order/#"]}.
{allow, all, pubsub, ["order2/open"]}.
{deny, all, pubsub, ["order2/#"]}.
`;

const nowSec = (): number => Math.floor(Date.now() / 1000);
const BANNED = [
  { as: 'clientid', who: 'banned-cid', until: nowSec() + 3600 },
  { as: 'username', who: 'banned-user', until: nowSec() + 3600 },
  { as: 'peerhost', who: '10.9.8.7', until: nowSec() + 3600 },
  { as: 'clientid', who: 'expired-cid', until: nowSec() - 60 },
];

let dir: string | undefined;
let authNode: NodeProcess | undefined;
let aclNode: NodeProcess | undefined;
let hostBanNode: NodeProcess | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'starling-access-'));
  const file = (name: string, body: string): string => {
    const path = join(dir!, name);
    writeFileSync(path, body);
    return path;
  };
  const users = file('users.json', JSON.stringify(USERS));
  const acl = file('acl.conf', ACL);
  const banned = file('banned.json', JSON.stringify(BANNED));
  const hostBanned = file('host-banned.json', JSON.stringify([{ as: 'peerhost', who: '127.0.0.1' }]));
  const started = await Promise.allSettled([
    startNode({ name: 'auth', env: { STARLING_USERS_FILE: users, STARLING_ALLOW_ANONYMOUS: 'false' } }),
    startNode({ name: 'acl', env: { STARLING_ACL_FILE: acl, STARLING_ACL_NOMATCH: 'deny', STARLING_BANNED_FILE: banned } }),
    startNode({ name: 'host-banned', env: { STARLING_BANNED_FILE: hostBanned } }),
  ]);
  [authNode, aclNode, hostBanNode] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
  for (const s of started) if (s.status === 'rejected') throw s.reason;
});

after(async () => {
  await Promise.all([authNode?.stop(), aclNode?.stop(), hostBanNode?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Version = 4 | 5;

/**
 * Sends one CONNECT on a fresh connection and returns the CONNACK code (3.1.1 return code,
 * MQTT 5 reason code). A refused connection must then be closed by the broker.
 */
async function connackCode(t: Scope, port: number, version: Version, fields: Partial<IConnectPacket> = {}): Promise<number> {
  const raw = await RawClient.open(t, port, version);
  const ack = await raw.connect({ protocolVersion: version, ...fields });
  const rc = version === 5 ? ack.reasonCode! : ack.returnCode!;
  if (rc !== 0) await raw.waitClosed();
  return rc;
}

const pw = (s: string): Buffer => Buffer.from(s);

describe('authentication (STARLING_USERS_FILE, STARLING_ALLOW_ANONYMOUS=false)', { concurrency: true }, () => {
  const port = (): number => authNode!.mqttPort;

  it('plain, sha256 and salted sha256 passwords are accepted (3.1.1 and 5)', async (t) => {
    for (const v of [4, 5] as const) {
      assert.equal(await connackCode(t, port(), v, { username: 'alice', password: pw('secret') }), 0, `alice v${v}`);
      assert.equal(await connackCode(t, port(), v, { username: 'bob', password: pw('hunter2') }), 0, `bob v${v}`);
      assert.equal(await connackCode(t, port(), v, { username: 'carol', password: pw('open sesame') }), 0, `carol v${v}`);
    }
  });

  it('an accepted user can publish and subscribe', async (t) => {
    const topic = `auth/${uid()}`;
    const sub = await openClient(t, port(), { username: 'alice', password: 'secret' });
    const pub = await openClient(t, port(), { username: 'bob', password: 'hunter2', protocolVersion: 4 });
    await sub.subscribe(topic, { qos: 1 });
    await pub.publish(topic, 'hi', { qos: 1 });
    assert.equal((await sub.next()).payload, 'hi');
  });

  it('a wrong password gets CONNACK 4 (3.1.1) / 0x86 (5) and the connection is closed', async (t) => {
    for (const [username, wrong] of [
      ['alice', 'Secret'],
      ['bob', 'hunter3'],
      ['bob', `sha256:${sha256hex('hunter2')}`], // the stored hash is not a password
      ['carol', 'open sesame '],
    ]) {
      assert.equal(await connackCode(t, port(), 4, { username, password: pw(wrong!) }), 4, `${username}/${wrong} v4`);
      assert.equal(await connackCode(t, port(), 5, { username, password: pw(wrong!) }), 0x86, `${username}/${wrong} v5`);
    }
  });

  it('an unknown user or a missing password gets 4 / 0x86', async (t) => {
    assert.equal(await connackCode(t, port(), 4, { username: 'mallory', password: pw('secret') }), 4);
    assert.equal(await connackCode(t, port(), 5, { username: 'mallory', password: pw('secret') }), 0x86);
    assert.equal(await connackCode(t, port(), 4, { username: 'alice' }), 4);
    assert.equal(await connackCode(t, port(), 5, { username: 'alice' }), 0x86);
  });

  it('an MQTT 5 Authentication Method (enhanced authentication) is refused with 0x8C', async (t) => {
    assert.equal(await connackCode(t, port(), 5, { username: 'alice', password: pw('secret'), properties: { authenticationMethod: 'SCRAM-SHA-1' } }), 0x8c);
  });

  it('a client without a username is refused with 5 / 0x87 when anonymous access is off', async (t) => {
    assert.equal(await connackCode(t, port(), 4, {}), 5);
    assert.equal(await connackCode(t, port(), 5, {}), 0x87);
  });
});

describe('ACL (STARLING_ACL_FILE in acl.conf syntax, STARLING_ACL_NOMATCH=deny)', { concurrency: true }, () => {
  const port = (): number => aclNode!.mqttPort;

  /** SUBACK code for one filter, for a client with these CONNECT fields. */
  async function subCode(t: Scope, version: Version, fields: Partial<IConnectPacket>, filter: string): Promise<number> {
    const raw = await RawClient.connected(t, port(), { protocolVersion: version, ...fields });
    const [code] = await raw.subscribe([{ topic: filter, qos: 1 }]);
    return code!;
  }

  /**
   * Publishes one QoS 1 message as a client with these CONNECT fields while an "admin"
   * observer (allowed everything) subscribes to the topic: returns the PUBACK reason code and
   * whether the observer got the message.
   */
  async function tryPublish(t: Scope, version: Version, fields: Partial<IConnectPacket>, topic: string): Promise<{ rc: number; delivered: boolean }> {
    const observer = await openClient(t, port(), { username: 'admin' });
    const [grant] = await observer.subscribe(topic, { qos: 1 });
    assert.equal(grant!.qos, 1, `observer subscription to ${topic}`);
    const raw = await RawClient.connected(t, port(), { protocolVersion: version, ...fields });
    const payload = uid();
    raw.send({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, messageId: 7, retain: false, dup: false });
    const ack = await raw.expect('puback');
    assert.equal(ack.messageId, 7);
    // the PUBACK came, so the broker has routed it or dropped it; the barrier shows which
    const got = await observer.settle();
    assert.ok(got.length <= 1 && got.every((m) => m.topic === topic && m.payload === payload), JSON.stringify(got));
    return { rc: ack.reasonCode ?? 0, delivered: got.length === 1 };
  }

  const ALLOWED = { rc: 0, delivered: true };
  const DENIED_V5 = { rc: 0x87, delivered: false };
  // MQTT 3.1.1 has no way to say no: the PUBACK is plain, the message is dropped
  const DENIED_V4 = { rc: 0, delivered: false };

  it('by user: "admin" may do anything, another user nothing the rules do not grant', async (t) => {
    const topic = `any/${uid()}`;
    assert.equal(await subCode(t, 5, { username: 'admin' }, topic), 1);
    assert.equal(await subCode(t, 5, { username: 'admin' }, '#'), 1); // before the {eq, "#"} deny: first match wins
    assert.deepEqual(await tryPublish(t, 5, { username: 'admin' }, topic), ALLOWED);
    assert.equal(await subCode(t, 5, { username: 'nobody' }, topic), 0x87);
    assert.equal(await subCode(t, 4, { username: 'nobody' }, topic), 0x80);
    assert.deepEqual(await tryPublish(t, 5, { username: 'nobody' }, topic), DENIED_V5);
    assert.deepEqual(await tryPublish(t, 4, { username: 'nobody' }, topic), DENIED_V4);
  });

  it('by client id: only "cid-ok" may use byclient/#', async (t) => {
    const topic = `byclient/${uid()}`;
    assert.equal(await subCode(t, 5, { clientId: 'cid-ok' }, topic), 1);
    assert.deepEqual(await tryPublish(t, 5, { clientId: 'cid-ok' }, topic), ALLOWED);
    assert.equal(await subCode(t, 5, { clientId: 'cid-other' }, topic), 0x87);
    assert.deepEqual(await tryPublish(t, 5, { clientId: 'cid-other' }, topic), DENIED_V5);
  });

  it('by ipaddr: 127.0.0.1 may subscribe to byip/# (not publish); 10.0.0.0/8 rules do not apply', async (t) => {
    const topic = `byip/${uid()}`;
    assert.equal(await subCode(t, 5, {}, topic), 1);
    assert.equal(await subCode(t, 4, {}, topic), 1);
    assert.deepEqual(await tryPublish(t, 5, {}, topic), DENIED_V5);
    const ten = `byip10/${uid()}`;
    assert.equal(await subCode(t, 5, {}, ten), 0x87);
    assert.deepEqual(await tryPublish(t, 5, {}, ten), DENIED_V5);
  });

  it('publish, subscribe and pubsub rules grant only their access', async (t) => {
    const topic = `ps/${uid()}`;
    // writer: publish only
    assert.deepEqual(await tryPublish(t, 5, { username: 'writer' }, topic), ALLOWED);
    assert.equal(await subCode(t, 5, { username: 'writer' }, topic), 0x87);
    // reader: subscribe only
    assert.equal(await subCode(t, 5, { username: 'reader' }, topic), 1);
    assert.deepEqual(await tryPublish(t, 5, { username: 'reader' }, topic), DENIED_V5);
    // a shared subscription is checked against the topic filter without its $share/<group>/ prefix
    assert.equal(await subCode(t, 5, { username: 'reader' }, `$share/g/${topic}`), 1);
    assert.equal(await subCode(t, 5, { username: 'writer' }, `$share/g/${topic}`), 0x87);
    // both
    assert.equal(await subCode(t, 4, { username: 'both' }, topic), 1);
    assert.deepEqual(await tryPublish(t, 4, { username: 'both' }, topic), ALLOWED);
  });

  it('a reader gets what a writer publishes, end to end under the rules', async (t) => {
    const topic = `ps/${uid()}`;
    const reader = await openClient(t, port(), { username: 'reader' });
    const writer = await openClient(t, port(), { username: 'writer', protocolVersion: 4 });
    const [grant] = await reader.subscribe(topic, { qos: 1 });
    assert.equal(grant!.qos, 1);
    await writer.publish(topic, 'news', { qos: 1 });
    assert.equal((await reader.next()).payload, 'news');
  });

  it('%c: a client may publish under devices/<its client id>/ only', async (t) => {
    const id = `dev-${uid()}`;
    assert.deepEqual(await tryPublish(t, 5, { clientId: id }, `devices/${id}/temp`), ALLOWED);
    assert.deepEqual(await tryPublish(t, 5, { clientId: id }, `devices/other-${uid()}/temp`), DENIED_V5);
    assert.deepEqual(await tryPublish(t, 4, { clientId: id }, `devices/other-${uid()}/temp`), DENIED_V4);
    assert.equal(await subCode(t, 5, { clientId: id }, `devices/${id}/temp`), 0x87); // a publish rule
  });

  it('%u: a user may subscribe to users/<its username>/inbox only; no username, no match', async (t) => {
    const user = `u-${uid()}`;
    assert.equal(await subCode(t, 5, { username: user }, `users/${user}/inbox`), 1);
    assert.equal(await subCode(t, 5, { username: user }, `users/someone-else/inbox`), 0x87);
    assert.equal(await subCode(t, 4, { username: user }, `users/someone-else/inbox`), 0x80);
    assert.equal(await subCode(t, 5, {}, `users/%u/inbox`), 0x87);
  });

  it('{eq, "#"} denies the filter "#" itself, while "#" in a later rule still allows other filters', async (t) => {
    assert.equal(await subCode(t, 5, { username: 'wild' }, '#'), 0x87);
    assert.equal(await subCode(t, 4, { username: 'wild' }, '#'), 0x80);
    assert.equal(await subCode(t, 5, { username: 'wild' }, `anything/${uid()}/#`), 1);
    assert.equal(await subCode(t, 5, { username: 'wild' }, '+/+'), 1);
    assert.equal(await subCode(t, 5, { username: 'nobody' }, `anything/${uid()}/#`), 0x87);
  });

  it('the first matching rule wins, allow or deny', async (t) => {
    assert.deepEqual(await tryPublish(t, 5, {}, 'order/secret'), DENIED_V5);
    assert.equal(await subCode(t, 5, {}, 'order/secret'), 0x87);
    assert.deepEqual(await tryPublish(t, 5, {}, `order/public-${uid()}`), ALLOWED);
    assert.equal(await subCode(t, 5, {}, `order/public-${uid()}`), 1);
    // the other way round: the allow comes first
    assert.deepEqual(await tryPublish(t, 5, {}, 'order2/open'), ALLOWED);
    assert.deepEqual(await tryPublish(t, 5, {}, `order2/other-${uid()}`), DENIED_V5);
  });

  it('no matching rule: denied (STARLING_ACL_NOMATCH=deny)', async (t) => {
    const topic = `unlisted/${uid()}`;
    assert.equal(await subCode(t, 5, { username: 'someone' }, topic), 0x87);
    assert.equal(await subCode(t, 4, { username: 'someone' }, topic), 0x80);
    assert.deepEqual(await tryPublish(t, 5, { username: 'someone' }, topic), DENIED_V5);
    assert.deepEqual(await tryPublish(t, 4, { username: 'someone' }, topic), DENIED_V4);
  });

  it('one SUBSCRIBE with allowed and denied filters gets a code for each', async (t) => {
    const raw = await RawClient.connected(t, port(), { protocolVersion: 5, username: 'reader' });
    const codes = await raw.subscribe([
      { topic: `ps/${uid()}`, qos: 2 },
      { topic: `unlisted/${uid()}`, qos: 1 },
      { topic: `byip/${uid()}`, qos: 0 },
    ]);
    assert.deepEqual(codes, [2, 0x87, 0]);
  });
});

describe('banned clients (STARLING_BANNED_FILE)', { concurrency: true }, () => {
  it('a banned client id is refused: 5 (3.1.1) / 0x8A (5); others connect', async (t) => {
    const port = aclNode!.mqttPort;
    assert.equal(await connackCode(t, port, 4, { clientId: 'banned-cid' }), 5);
    assert.equal(await connackCode(t, port, 5, { clientId: 'banned-cid' }), 0x8a);
    assert.equal(await connackCode(t, port, 5, { clientId: 'banned-cid2' }), 0);
    assert.equal(await connackCode(t, port, 4, { clientId: `ok-${uid()}` }), 0);
  });

  it('a banned username is refused whatever the client id', async (t) => {
    const port = aclNode!.mqttPort;
    assert.equal(await connackCode(t, port, 4, { clientId: `x-${uid()}`, username: 'banned-user' }), 5);
    assert.equal(await connackCode(t, port, 5, { clientId: `x-${uid()}`, username: 'banned-user' }), 0x8a);
    assert.equal(await connackCode(t, port, 5, { clientId: `x-${uid()}`, username: 'fine-user' }), 0);
  });

  it('an expired ban and a ban of another address do not refuse anyone', async (t) => {
    const port = aclNode!.mqttPort;
    assert.equal(await connackCode(t, port, 5, { clientId: 'expired-cid' }), 0);
    assert.equal(await connackCode(t, port, 4, {}), 0); // 10.9.8.7 is banned, 127.0.0.1 is not
  });

  it('a banned peer host is refused: 5 / 0x8A', async (t) => {
    const port = hostBanNode!.mqttPort;
    assert.equal(await connackCode(t, port, 4, {}), 5);
    assert.equal(await connackCode(t, port, 5, { username: 'anyone' }), 0x8a);
  });
});
