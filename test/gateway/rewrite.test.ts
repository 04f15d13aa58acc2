// emqx_mod_rewrite through the API on a real 3-node cluster, every node configured with the
// same rules: a PUBLISH is received on its rewritten topic by a subscriber on another node, a
// SUBSCRIBE makes the rewritten subscription (the API lists it); a cluster-wide unload stops
// every node rewriting within a second and a load resumes it; a per-node switch acts on that
// node only, and lasts across its restart. Wills, API, delayed and retained publishes too.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { activeOn as featureActive } from '../support/features.js';
import { fullName } from '../support/cluster.js';
import { api, ok } from '../support/gateway.js';
import { useGatewayCluster } from '../support/gateway-cluster.js';
import { connectClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';
import { eventually, sleep } from '../support/wait.js';

const RULES = [
  { action: 'publish', source_topic: 'x/#', re: '^x/y/(.+)$', dest_topic: 'z/y/$1' },
  { action: 'subscribe', source_topic: 'old/#', re: '^old/(.+)$', dest_topic: 'new/$1' },
];

const gc = useGatewayCluster(() => ({ env: { STARLING_REWRITE_RULES: JSON.stringify(RULES) } }));
/** one publisher per node, and a subscriber on n2 to the source and destination topics */
const pubs: Record<string, TestClient> = {};
let sub: TestClient;

const N = ['n1', 'n2', 'n3'].map(fullName);
const url = (node: string): string => tcpUrl(gc.c.node(node).mqttPort);
const everywhere = (op: string) => api(gc.base, 'PUT', `/api/v4/modules/emqx_mod_rewrite/${op}`);
const onNode = (node: string, op: string) => api(gc.base, 'PUT', `/api/v4/nodes/${fullName(node)}/modules/emqx_mod_rewrite/${op}`);
const activeOn = () => featureActive(gc.base, 'modules', 'emqx_mod_rewrite');

let seq = 0;
/**
 * Publishes x/y/<unique> from `node` and answers the topic n2's subscriber received it on
 * (x/y/... not rewritten, z/y/... rewritten). The subscriber is on both, so each publish
 * arrives exactly once either way; the routes reach the other nodes asynchronously, so a
 * publish that found no route yet is sent again.
 */
async function landsOn(node: string): Promise<string> {
  const tail = `${node}/${++seq}`;
  const mine = (m: { topic: string }) => m.topic === `x/y/${tail}` || m.topic === `z/y/${tail}`;
  for (let i = 0; ; i++) {
    await pubs[node]!.publish(`x/y/${tail}`, 'p', { qos: 1 });
    try {
      const m = await sub.waitForMessage(mine, { timeoutMs: i < 50 ? 100 : 2000 });
      await sub.barrier();
      // a retry may have been delivered twice, never on both topics
      assert.deepEqual(new Set(sub.messages(mine).map((x) => x.topic)), new Set([m.topic]));
      return m.topic.slice(0, 1);
    } catch (err) {
      if (i >= 50) throw err;
    }
  }
}

/** Where a publish from each node lands: 'z' rewritten, 'x' as published. */
const rewrittenBy = async (): Promise<string[]> => [await landsOn('n1'), await landsOn('n2'), await landsOn('n3')];

/** The topics of `clientid`'s subscriptions, as GET /api/v4/subscriptions/{clientid} lists them. */
async function subscribedTo(clientid: string): Promise<string[]> {
  const r = await api(gc.base, 'GET', `/api/v4/subscriptions/${encodeURIComponent(clientid)}`);
  ok(r);
  return r.body.data.map((s: { topic: string }) => s.topic).sort();
}

describe('emqx_mod_rewrite through the API', () => {
  before(async () => {
    for (const n of ['n1', 'n2', 'n3']) pubs[n] = await connectClient(url(n), { clientId: uid(`rw-pub-${n}`) });
    sub = await connectClient(url('n2'), { clientId: uid('rw-sub') });
    await sub.subscribe(['x/y/#', 'z/y/#'], { qos: 1 });
  });

  it('loaded on every node because its rules are configured', async () => {
    assert.deepEqual(await activeOn(), [true, true, true]);
  });

  it('a PUBLISH to a source topic is received on the rewritten topic by a subscriber on another node', async () => {
    const from = sub.mark();
    assert.equal(await landsOn('n1'), 'z');
    assert.equal(await landsOn('n3'), 'z');
    assert.deepEqual(
      sub.messages().slice(from).map((m) => m.topic).filter((t) => t.startsWith('x/')),
      [],
      'nothing on the source topic',
    );
  });

  it('a publish through the API (POST /mqtt/publish) and a retained one are rewritten too', async () => {
    const r = await api(gc.base, 'POST', '/api/v4/mqtt/publish', { body: { topic: 'x/y/api', payload: 'a', qos: 1, clientid: 'rw-api' } });
    assert.deepEqual(r.body, { code: 0 });
    assert.equal((await sub.waitForMessage('z/y/api')).payload, 'a');
    await pubs.n3!.publish('x/y/kept', 'k', { qos: 1, retain: true });
    const late = await connectClient(url('n1'), { clientId: uid('rw-late') });
    await late.subscribe(['z/y/kept', 'x/y/kept'], { qos: 1 });
    const m = await late.waitForMessage(() => true);
    assert.deepEqual([m.topic, m.retain], ['z/y/kept', true]);
    await pubs.n3!.publish('x/y/kept', '', { qos: 1, retain: true });
    await late.end();
  });

  it('a delayed publish is rewritten when it is published, after the delay', async () => {
    const sent = Date.now();
    await pubs.n1!.publish('$delayed/1/x/y/later', 'd', { qos: 1 });
    const m = await sub.waitForMessage((x) => x.topic === 'z/y/later' || x.topic === 'x/y/later', { timeoutMs: 3000 });
    assert.deepEqual([m.topic, m.payload], ['z/y/later', 'd']);
    assert.ok(Date.now() - sent >= 900, `after ${Date.now() - sent} ms`);
  });

  it('a will is published on its rewritten topic', async () => {
    const w = await connectClient(url('n1'), { clientId: uid('rw-will'), will: { topic: 'x/y/will', payload: Buffer.from('gone'), qos: 1, retain: false } });
    await w.destroy();
    const m = await sub.waitForMessage((x) => x.topic === 'z/y/will' || x.topic === 'x/y/will');
    assert.deepEqual([m.topic, m.payload], ['z/y/will', 'gone']);
  });

  it('a SUBSCRIBE to a rewritten filter gets the retained messages of the rewritten one, stored on another node', async () => {
    await pubs.n1!.publish('new/r', 'kept', { qos: 1, retain: true });
    const s = await connectClient(url('n3'), { clientId: uid('rw-ret') });
    await eventually(async () => {
      await s.subscribe('old/r', { qos: 1 });
      const m = await s.waitForMessage('new/r', { timeoutMs: 200 });
      assert.deepEqual([m.payload, m.retain], ['kept', true]);
    });
    await pubs.n1!.publish('new/r', '', { qos: 1, retain: true });
    await s.end();
  });

  it('a shared SUBSCRIBE has its filter rewritten, its group kept, and gets messages from another node', async () => {
    const id = uid('rw-share');
    const s = await connectClient(url('n3'), { clientId: id });
    await s.subscribe('$share/g/old/s', { qos: 1 });
    assert.deepEqual(await subscribedTo(id), ['$share/g/new/s']);
    for (let i = 0; s.messages('new/s').length === 0; i++) {
      assert.ok(i < 100, 'nothing received on the rewritten shared subscription');
      await pubs.n1!.publish('new/s', 's', { qos: 1 });
      await sleep(20);
    }
    await s.end();
  });

  it('a SUBSCRIBE to a rewritten filter makes the rewritten subscription, listed by the API, on any node', async () => {
    for (const node of ['n1', 'n3']) {
      const id = uid(`rw-s-${node}`);
      const s = await connectClient(url(node), { clientId: id });
      await s.subscribe('old/a/+', { qos: 1 });
      assert.deepEqual(await subscribedTo(id), ['new/a/+']);
      const r = await api(gc.base, 'GET', `/api/v4/nodes/${fullName(node)}/subscriptions?clientid=${encodeURIComponent(id)}`);
      ok(r, ['code', 'data', 'meta']);
      assert.deepEqual(
        r.body.data.map((x: { topic: string; node: string }) => [x.topic, x.node]),
        [['new/a/+', fullName(node)]],
      );
      // delivered from another node on the rewritten topic
      const other = node === 'n1' ? 'n2' : 'n1';
      for (let i = 0; s.messages('new/a/1').length === 0; i++) {
        assert.ok(i < 100, 'nothing received on the rewritten subscription');
        await pubs[other]!.publish('new/a/1', 'n', { qos: 1 });
        await sleep(20);
      }
      // UNSUBSCRIBE by the source filter removes it
      await s.unsubscribe('old/a/+');
      assert.deepEqual(await subscribedTo(id), []);
      await s.end();
    }
  });

  it('unloaded cluster-wide: within a second no node rewrites; loaded again: every node rewrites', async () => {
    const started = Date.now();
    ok(await everywhere('unload'), ['code']);
    assert.deepEqual(await activeOn(), [false, false, false]);
    assert.deepEqual(await rewrittenBy(), ['x', 'x', 'x']);
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
    // a SUBSCRIBE is not rewritten either
    const id = uid('rw-off');
    const s = await connectClient(url('n3'), { clientId: id });
    await s.subscribe('old/b', { qos: 1 });
    assert.deepEqual(await subscribedTo(id), ['old/b']);
    assert.deepEqual(
      (await gc.c.store.configList('feature_states')).filter((r) => r.feature === 'rewrite'),
      [{ feature: 'rewrite', scope: '*', active: false }],
    );

    ok(await everywhere('load'), ['code']);
    assert.deepEqual(await activeOn(), [true, true, true]);
    assert.deepEqual(await rewrittenBy(), ['z', 'z', 'z']);
    await s.subscribe('old/c', { qos: 1 });
    assert.deepEqual(await subscribedTo(id), ['new/c', 'old/b']);
  });

  it("every node applies a change of the '*' record within a second", async () => {
    await gc.c.store.configPut('feature_states', { feature: 'rewrite', scope: '*', active: false }, 'upsert');
    await eventually(async () => assert.deepEqual(await activeOn(), [false, false, false]), 1000, 50);
    assert.deepEqual(await rewrittenBy(), ['x', 'x', 'x']);
    await gc.c.store.configPut('feature_states', { feature: 'rewrite', scope: '*', active: true }, 'upsert');
    await eventually(async () => assert.deepEqual(await activeOn(), [true, true, true]), 1000, 50);
    assert.deepEqual(await rewrittenBy(), ['z', 'z', 'z']);
  });

  it('unloaded on one node: only that node stops rewriting', async () => {
    ok(await onNode('n2', 'unload'), ['code']);
    assert.deepEqual(await activeOn(), [true, false, true]);
    assert.deepEqual(await rewrittenBy(), ['z', 'x', 'z']);
    const id = uid('rw-n2');
    const s = await connectClient(url('n2'), { clientId: id });
    await s.subscribe('old/d', { qos: 1 });
    const t = await connectClient(url('n1'), { clientId: uid('rw-n1') });
    await t.subscribe('old/d', { qos: 1 });
    assert.deepEqual(await subscribedTo(id), ['old/d']);
    assert.deepEqual(await subscribedTo(t.clientId), ['new/d']);
    ok(await onNode('n2', 'load'), ['code']);
    assert.deepEqual(await activeOn(), [true, true, true]);
    assert.deepEqual(await rewrittenBy(), ['z', 'z', 'z']);
    const records = (await gc.c.store.configList('feature_states')).filter((r) => r.feature === 'rewrite');
    assert.deepEqual(
      records.sort((a, b) => a.scope.localeCompare(b.scope)),
      [
        { feature: 'rewrite', scope: '*', active: true },
        { feature: 'rewrite', scope: N[1], active: true },
      ],
    );
  });

  it('unloaded on one node, it stays unloaded there after a restart', async () => {
    ok(await onNode('n2', 'unload'), ['code']);
    await gc.c.node('n2').stop();
    await gc.c.startNode('n2');
    await eventually(async () => assert.deepEqual(await activeOn(), [true, false, true]), 5000, 100);
    pubs.n2 = await connectClient(url('n2'), { clientId: uid('rw-pub-n2') });
    sub = await connectClient(url('n2'), { clientId: uid('rw-sub') });
    await sub.subscribe(['x/y/#', 'z/y/#'], { qos: 1 });
    assert.deepEqual(await rewrittenBy(), ['z', 'x', 'z']);
  });
});
