// emqx_mod_subscription through the API on a real 3-node cluster configured with `client/%c`:
// a client connecting to any node is subscribed (it receives what another node publishes to
// client/<its id>, the API lists the subscription); unloaded cluster-wide, a new client is not
// subscribed; loaded again, it is; unloaded on one node, only that node's clients are not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activeOn as featureActive } from '../support/features.js';
import { fullName } from '../support/cluster.js';
import { api, ok } from '../support/gateway.js';
import { useGatewayCluster } from '../support/gateway-cluster.js';
import { connectClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';
import { sleep } from '../support/wait.js';

const gc = useGatewayCluster(() => ({ env: { STARLING_AUTO_SUBSCRIBE: JSON.stringify([{ topic: 'client/%c', qos: 1 }]) } }));

const NODES = ['n1', 'n2', 'n3'];
const url = (node: string): string => tcpUrl(gc.c.node(node).mqttPort);
const everywhere = (op: string) => api(gc.base, 'PUT', `/api/v4/modules/emqx_mod_subscription/${op}`);
const activeOn = () => featureActive(gc.base, 'modules', 'emqx_mod_subscription');
const next = (node: string): string => NODES[(NODES.indexOf(node) + 1) % NODES.length]!;

/** `clientid`'s subscriptions as [topic, qos, node], as GET /api/v4/subscriptions?clientid= lists them. */
async function subscriptions(clientid: string): Promise<[string, number, string][]> {
  const r = await api(gc.base, 'GET', `/api/v4/subscriptions?clientid=${encodeURIComponent(clientid)}`);
  ok(r, ['code', 'data', 'meta']);
  return r.body.data.map((s: { topic: string; qos: number; node: string }) => [s.topic, s.qos, s.node]);
}

/**
 * Publishes to client/<id> from the node after `node` until `cl` gets it (the auto
 * subscription's route reaches that node asynchronously).
 */
async function receivesFromAnotherNode(cl: TestClient, node: string): Promise<void> {
  const pub = await connectClient(url(next(node)), { clientId: uid('as-pub') });
  const topic = `client/${cl.clientId}`;
  for (let i = 0; cl.messages(topic).length === 0; i++) {
    assert.ok(i < 100, `${cl.clientId} on ${node} received nothing on ${topic} from ${next(node)}`);
    await pub.publish(topic, `to ${cl.clientId}`, { qos: 1 });
    await sleep(20);
  }
  assert.equal(cl.messages(topic)[0]!.qos, 1);
  await pub.end();
}

/** A client just connected to `node` is not subscribed: the API lists nothing and a publish on its own node (no route needed) does not reach it. */
async function notSubscribed(cl: TestClient, node: string): Promise<void> {
  assert.deepEqual(await subscriptions(cl.clientId), []);
  const pub = await connectClient(url(node), { clientId: uid('as-pub') });
  await pub.publish(`client/${cl.clientId}`, 'nobody', { qos: 1 });
  await pub.end();
  await cl.barrier();
  assert.deepEqual(cl.messages(`client/${cl.clientId}`), []);
}

describe('emqx_mod_subscription through the API', () => {
  const early: TestClient[] = [];

  it('loaded on every node because its topics are configured', async () => {
    assert.deepEqual(await activeOn(), [true, true, true]);
  });

  it('a client connecting to any node is subscribed to client/<its id>: the API lists it, another node reaches it', async () => {
    for (const node of NODES) {
      const cl = await connectClient(url(node), { clientId: uid(`as-${node}`) });
      early.push(cl);
      assert.deepEqual(await subscriptions(cl.clientId), [[`client/${cl.clientId}`, 1, fullName(node)]]);
      await receivesFromAnotherNode(cl, node);
    }
  });

  it('unloaded cluster-wide: a new client is not subscribed (those subscribed before stay); loaded: it is again', async () => {
    ok(await everywhere('unload'), ['code']);
    assert.deepEqual(await activeOn(), [false, false, false]);
    for (const node of NODES) await notSubscribed(await connectClient(url(node), { clientId: uid(`as-off-${node}`) }), node);
    assert.deepEqual(await subscriptions(early[0]!.clientId), [[`client/${early[0]!.clientId}`, 1, fullName('n1')]]);

    ok(await everywhere('load'), ['code']);
    assert.deepEqual(await activeOn(), [true, true, true]);
    for (const node of NODES) {
      const cl = await connectClient(url(node), { clientId: uid(`as-on-${node}`) });
      assert.deepEqual(await subscriptions(cl.clientId), [[`client/${cl.clientId}`, 1, fullName(node)]]);
      await receivesFromAnotherNode(cl, node);
    }
  });

  it('unloaded on one node: only that node stops subscribing', async () => {
    ok(await api(gc.base, 'PUT', `/api/v4/nodes/${fullName('n3')}/modules/emqx_mod_subscription/unload`), ['code']);
    assert.deepEqual(await activeOn(), [true, true, false]);
    await notSubscribed(await connectClient(url('n3'), { clientId: uid('as-off-n3') }), 'n3');
    for (const node of ['n1', 'n2']) {
      const cl = await connectClient(url(node), { clientId: uid(`as-on-${node}`) });
      assert.deepEqual(await subscriptions(cl.clientId), [[`client/${cl.clientId}`, 1, fullName(node)]]);
    }
    ok(await api(gc.base, 'PUT', `/api/v4/nodes/${fullName('n3')}/modules/emqx_mod_subscription/load`), ['code']);
    assert.deepEqual(await activeOn(), [true, true, true]);
  });

  // resumed on the same node or moved to another one: subscribed where it is, once
  for (const [from, to] of [['n2', 'n2'], ['n1', 'n3']] as const) {
    it(`a client resuming its session (${from}, then ${to}) is subscribed on ${to}, once`, async () => {
      const id = uid('as-keep');
      const first = await connectClient(url(from), { clientId: id, clean: false });
      await first.end();
      const again = await connectClient(url(to), { clientId: id, clean: false });
      assert.equal(again.connack!.sessionPresent, true);
      assert.deepEqual(await subscriptions(id), [[`client/${id}`, 1, fullName(to)]]);
      await receivesFromAnotherNode(again, to);
      await again.end();
    });
  }
});
