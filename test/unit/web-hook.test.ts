import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { newMessage } from '../../shared/message.js';
import * as body from '../../node/features/web-hook/bodies.js';
import { parseWebHookRules, webHookSettings, WEB_HOOK_EVENTS } from '../../node/features/web-hook/settings.js';
import type { ClientInfo } from '../../node/core/hooks.js';

const client: ClientInfo = {
  clientid: 'c1',
  username: 'u1',
  peerhost: '127.0.0.1',
  peerport: 50000,
  sockport: 1883,
  protoName: 'MQTT',
  protoVer: 5,
  keepalive: 60,
  cleanStart: true,
  expiryInterval: 0,
  connectedAt: 1700000000000,
  isBridge: false,
};
const msg = newMessage({ topic: 't/1', payload: Buffer.from('hello'), qos: 1, retain: true, from: 'c1', fromUsername: undefined, timestamp: 1700000000123 });
const plain: body.BodyContext = { node: 'n1@127.0.0.1', encoding: 'plain' };

test('web hook rules: EMQX event names and actions, topic filters, checks', () => {
  // unset: every event this node offers, unfiltered
  assert.deepEqual(
    parseWebHookRules(undefined).map((r) => r.event),
    Object.keys(WEB_HOOK_EVENTS),
  );
  assert.deepEqual(parseWebHookRules('[{"event":"client.connected","action":"on_client_connected"},{"event":"message.publish","topic":"t/#"}]'), [
    { event: 'client.connected', action: 'on_client_connected', topic: undefined },
    { event: 'message.publish', action: 'on_message_publish', topic: 't/#' },
  ]);
  assert.deepEqual(parseWebHookRules('[]'), []);
  for (const [raw, msg] of [
    ['[{"event":"client.connected"},{"event":"nope"}]', /webHookRules\[1\]\.event "nope" is not an event/],
    ['[{"event":"client.connected","action":"on_message_publish"}]', /must be "on_client_connected"/],
    ['[{"event":"client.connected","topic":"t"}]', /have no topic/],
    ['[{"event":"message.publish","topic":"a/#/b"}]', /valid topic filter/],
    ['{}', /JSON array/],
  ] as const) {
    assert.throws(() => parseWebHookRules(raw), (err: Error) => err instanceof ConfigError && msg.test(err.message), raw);
  }
});

test('web hook settings: loading needs a URL; headers are a JSON object of strings', () => {
  assert.throws(() => webHookSettings(loadConfig({}, [])), /emqx_web_hook needs a URL.*STARLING_WEB_HOOK_URL/);
  assert.throws(() => webHookSettings(loadConfig({ STARLING_WEB_HOOK_URL: 'ftp://x' }, [])), /http:\/\/ or https:\/\//);
  assert.throws(() => webHookSettings(loadConfig({ STARLING_WEB_HOOK_URL: 'http://x', STARLING_WEB_HOOK_HEADERS: '["a"]' }, [])), /JSON object of strings/);
  const s = webHookSettings(loadConfig({ STARLING_WEB_HOOK_URL: 'http://127.0.0.1:9/hook', STARLING_WEB_HOOK_HEADERS: '{"x-token":"t"}', STARLING_WEB_HOOK_ENCODING: 'base64', STARLING_WEB_HOOK_POOL_SIZE: '4' }, []));
  assert.equal(s.url.pathname, '/hook');
  assert.deepEqual(s.headers, { 'x-token': 't' });
  assert.equal(s.encoding, 'base64');
  assert.equal(s.poolSize, 4);
});

test('web hook bodies are EMQX 4.4 JSON, field for field', () => {
  assert.deepEqual(JSON.parse(body.clientConnected(plain, { client })), {
    action: 'client_connected', node: 'n1@127.0.0.1', clientid: 'c1', username: 'u1', ipaddress: '127.0.0.1', keepalive: 60, proto_ver: 5, connected_at: 1700000000000,
  });
  assert.deepEqual(JSON.parse(body.clientDisconnected(plain, { client: { ...client, username: undefined }, reason: 'normal', disconnectedAt: 1700000001000 })), {
    action: 'client_disconnected', node: 'n1@127.0.0.1', clientid: 'c1', username: null, reason: 'normal', connected_at: 1700000000000, disconnected_at: 1700000001000,
  });
  const opts = { qos: 1 as const, nl: true, rap: false, rh: 0 as const, subId: undefined, share: 'g' };
  assert.deepEqual(JSON.parse(body.sessionSubscribed(plain, { clientid: 'c1', topic: '$share/g/a/+', opts, isNew: true }, 'u1')), {
    action: 'session_subscribed', node: 'n1@127.0.0.1', clientid: 'c1', username: 'u1', topic: 'a/+', opts: { qos: 1, nl: 1, rap: 0, rh: 0, is_new: true, share: 'g' },
  });
  assert.deepEqual(JSON.parse(body.sessionUnsubscribed(plain, { clientid: 'c1', topic: 'a/b' }, undefined)), {
    action: 'session_unsubscribed', node: 'n1@127.0.0.1', clientid: 'c1', username: null, topic: 'a/b',
  });
  const fields = { from_client_id: 'c1', from_username: null, topic: 't/1', retain: true, payload: 'hello', ts: 1700000000123 };
  assert.deepEqual(JSON.parse(body.messagePublish(plain, msg)), { action: 'message_publish', node: 'n1@127.0.0.1', qos: 1, ...fields });
  assert.deepEqual(JSON.parse(body.messageDelivered(plain, { clientid: 's1', message: msg, qos: 0 }, 'su')), {
    action: 'message_delivered', node: 'n1@127.0.0.1', clientid: 's1', username: 'su', qos: 0, ...fields,
  });
  assert.deepEqual(JSON.parse(body.messageAcked(plain, { clientid: 's1', message: msg }, 'su')), {
    action: 'message_acked', node: 'n1@127.0.0.1', clientid: 's1', username: 'su', qos: 1, ...fields,
  });
  assert.deepEqual(JSON.parse(body.messageDropped(plain, { message: msg, reason: 'no_subscribers', clientid: undefined }, undefined)), {
    action: 'message_dropped', node: 'n1@127.0.0.1', reason: 'no_subscribers', qos: 1, ...fields,
  });
  const who = { clientid: 'c1', username: 'u1', peerhost: '10.0.0.1', keepalive: 30, protoVer: 4 };
  assert.deepEqual(JSON.parse(body.clientConnect(plain, who)), { action: 'client_connect', node: 'n1@127.0.0.1', clientid: 'c1', username: 'u1', ipaddress: '10.0.0.1', keepalive: 30, proto_ver: 4 });
  assert.deepEqual(JSON.parse(body.clientConnack(plain, { ...who, reasonCode: 0, connectedAt: 5 })), {
    action: 'client_connack', node: 'n1@127.0.0.1', clientid: 'c1', username: 'u1', ipaddress: '10.0.0.1', keepalive: 30, proto_ver: 4, conn_ack: 'success', connected_at: 5,
  });
  assert.equal(JSON.parse(body.clientConnack(plain, { ...who, reasonCode: 0x86, connectedAt: undefined })).conn_ack, 'bad_username_or_password');
  assert.deepEqual(JSON.parse(body.clientSubscribe(plain, { clientid: 'c1', username: undefined, topic: '$share/g/a/#', opts: { ...opts, share: undefined } })), {
    action: 'client_subscribe', node: 'n1@127.0.0.1', clientid: 'c1', username: null, topic: 'a/#', opts: { qos: 1, nl: 1, rap: 0, rh: 0, share: 'g' },
  });
  assert.deepEqual(JSON.parse(body.clientUnsubscribe(plain, { clientid: 'c1', username: 'u1', topic: 'a/#' })), {
    action: 'client_unsubscribe', node: 'n1@127.0.0.1', clientid: 'c1', username: 'u1', topic: 'a/#', opts: {},
  });
  assert.deepEqual(JSON.parse(body.sessionTerminated(plain, { clientid: 'c1', username: 'u1', reason: 'kicked' })), {
    action: 'session_terminated', node: 'n1@127.0.0.1', clientid: 'c1', username: 'u1', reason: 'kicked',
  });
  // base64: the payload field only
  const b64 = JSON.parse(body.messagePublish({ ...plain, encoding: 'base64' }, msg));
  assert.equal(b64.payload, Buffer.from('hello').toString('base64'));
  assert.equal(b64.topic, 't/1');
});
