/**
 * emqx_mod_rewrite with real MQTT clients on a standalone node (its API too): PUBLISH topics
 * and SUBSCRIBE/UNSUBSCRIBE filters rewritten while the module is loaded, nothing once unloaded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Feature } from '../../node/features/feature.js';
import { startNode } from '../support/broker.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';
import { startStandalone, type Standalone } from '../support/standalone.js';

const RULES = [
  { action: 'publish', source_topic: 'x/#', re: '^x/y/(.+)$', dest_topic: 'z/y/$1' },
  { action: 'subscribe', source_topic: 'old/#', re: '^old/(.+)$', dest_topic: 'new/$1' },
  { action: 'all', source_topic: 'dev/+/raw', re: '^dev/([^/]+)/raw$', dest_topic: 'devices/$1/%c' },
];

let node: Standalone;
let rewrite: Feature;

before(async () => {
  node = await startStandalone({ STARLING_REWRITE_RULES: JSON.stringify(RULES) });
  // the node's own module, loaded at start because its configuration is set
  rewrite = node.broker.features.find('module', 'emqx_mod_rewrite')!.switches.feature;
  assert.equal(rewrite.active, true);
});

after(async () => {
  await closeAllClients();
  await node?.stop();
});

test('a publish to a source topic is received on the rewritten topic (retained too)', async (t) => {
  const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('rw-sub') }, t);
  await sub.subscribe(['z/y/#', 'x/y/#'], { qos: 1 });
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: 'rw-pub' }, t);
  await pub.publish('x/y/1/2', 'hello', { qos: 1 });
  const m = await sub.waitForMessage('z/y/1/2');
  assert.equal(m.payload, 'hello');
  // the $N and %c template: the publisher's clientid
  await pub.publish('dev/d7/raw', 'r', { qos: 1, retain: true });
  const late = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('rw-late') }, t);
  await late.subscribe('devices/#', { qos: 1 });
  const r = await late.waitForMessage('devices/d7/rw-pub');
  assert.equal(r.retain, true);
  await sub.barrier();
  assert.equal(sub.messages('x/y/1/2').length, 0, 'nothing on the source topic');
});

test('a subscription is made to the rewritten filter, shown by the API, and unsubscribed by its source', async (t) => {
  const id = uid('rw-s');
  const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: id }, t);
  await sub.subscribe('old/a/+', { qos: 1 });
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('rw-p') }, t);
  await pub.publish('new/a/1', 'n', { qos: 1 });
  assert.equal((await sub.waitForMessage('new/a/1')).payload, 'n');
  // a subscribe-only rule does not touch PUBLISH: old/a/2 goes to old/a/2, which nobody has
  await pub.publish('old/a/2', 'o', { qos: 1 });
  const res = await node.api(`/api/v4/subscriptions/${id}`);
  assert.deepEqual(res.body.data.map((s: { topic: string }) => s.topic), ['new/a/+']);
  await sub.unsubscribe('old/a/+');
  assert.deepEqual((await node.api(`/api/v4/subscriptions/${id}`)).body.data, []);
  await sub.barrier();
  assert.deepEqual(sub.messages().map((m) => m.topic), ['new/a/1']);
});

test('with the module unloaded, topics are not rewritten', async (t) => {
  await rewrite.unload();
  t.after(() => rewrite.load());
  assert.equal(node.broker.rewrite, undefined);
  const sub = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('rw-u') }, t);
  await sub.subscribe(['x/y/#', 'old/b', 'z/y/#'], { qos: 1 });
  const pub = await connectClient(tcpUrl(node.mqttPort), { clientId: uid('rw-up') }, t);
  await pub.publish('x/y/9', 'a', { qos: 1 });
  await pub.publish('old/b', 'b', { qos: 1 });
  await sub.waitForMessages(2);
  await sub.barrier();
  assert.deepEqual(sub.messages().map((m) => m.topic).sort(), ['old/b', 'x/y/9']);
});

test('a node with a bad rule does not start: the error names the rule', async () => {
  const bad = [RULES[0], { action: 'all', source_topic: 'a/#', re: '^a/(+$', dest_topic: 'b' }];
  await assert.rejects(startNode({ name: 'bad-rewrite', env: { STARLING_REWRITE_RULES: JSON.stringify(bad) } }), /exited \(code 2[\s\S]*rewriteRules\[1\]\.re: Invalid regular expression/);
});
