// The default ACL out of the box: a node started with no ACL setting loads the package's
// etc/acl.conf (EMQX's default rules), so local clients may do anything, other clients are
// refused `#` and `$SYS/#` subscriptions (the dashboard user may read $SYS), and every
// client's ACL cache fills, as GET /api/v4/clients/{clientid}/acl_cache shows. With
// STARLING_ACL_FILE=none nothing is checked against rules and nothing is cached.
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { startNode, type NodeProcess } from '../support/broker.js';
import { api } from '../support/gateway.js';
import { closeAllClients, connectClient, tcpUrl, uid, withTimeout, TestClient, type Scope } from '../support/mqtt-clients.js';

let plain: NodeProcess | undefined;
let none: NodeProcess | undefined;

before(async () => {
  [plain, none] = await Promise.all([startNode({ name: 'default-acl' }), startNode({ name: 'no-acl', env: { STARLING_ACL_FILE: 'none' } })]);
});

after(async () => {
  await closeAllClients();
  await Promise.all([plain?.stop(), none?.stop()]);
});

/** An MQTT.js client whose connection comes from 127.0.0.2: not "localhost" for the ipaddr rule. */
async function remoteClient(port: number, opts: { clientId: string; username?: string }, scope: Scope): Promise<TestClient> {
  const client = new mqtt.MqttClient(() => netConnect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }), { protocolVersion: 4, reconnectPeriod: 0, ...opts });
  const tc = new TestClient(client, opts.clientId);
  scope.after(() => tc.destroy());
  await withTimeout(new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject)), 5000, `${opts.clientId}: CONNACK`);
  return tc;
}

/** The SUBACK's return code for one filter (MQTT.js rejects a refusal, 0x80, with the SUBACK attached). */
async function granted(cl: TestClient, topic: string): Promise<number> {
  try {
    return (await cl.subscribe(topic, { qos: 1 }))[0]!.qos;
  } catch (err) {
    const suback = (err as { packet?: { granted?: number[] } }).packet;
    if (suback?.granted) return suback.granted[0]!;
    throw err;
  }
}

const aclCache = async (node: NodeProcess, clientid: string): Promise<[string, string, string][]> => {
  const r = await api(`http://127.0.0.1:${node.listeners['http:management']}`, 'GET', `/api/v4/clients/${encodeURIComponent(clientid)}/acl_cache`);
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  return (r.body.data as { access: string; topic: string; result: string }[]).map((e) => [e.access, e.topic, e.result]);
};

describe('with no ACL setting: etc/acl.conf', () => {
  it('a client from 127.0.0.1 may subscribe to # and $SYS/#; its cache lists every check', async (t) => {
    const cl = await connectClient(tcpUrl(plain!.mqttPort), { clientId: uid('local') }, t);
    assert.equal(await granted(cl, '#'), 1);
    assert.equal(await granted(cl, '$SYS/#'), 1);
    await cl.publish('dacl/t', 'x', { qos: 1 });
    assert.deepEqual(await aclCache(plain!, cl.clientId), [
      ['subscribe', '#', 'allow'],
      ['subscribe', '$SYS/#', 'allow'],
      ['publish', 'dacl/t', 'allow'],
    ]);
  });

  it('another client is refused # and $SYS/# but may subscribe to anything else and publish anywhere', async (t) => {
    const cl = await remoteClient(plain!.mqttPort, { clientId: uid('remote') }, t);
    assert.equal(await granted(cl, '#'), 0x80);
    assert.equal(await granted(cl, '$SYS/#'), 0x80);
    assert.equal(await granted(cl, 'dacl/#'), 1);
    await cl.publish('dacl/r', 'x', { qos: 1 });
    assert.equal((await cl.waitForMessage('dacl/r')).payload, 'x');
    assert.deepEqual(await aclCache(plain!, cl.clientId), [
      ['subscribe', '#', 'deny'],
      ['subscribe', '$SYS/#', 'deny'],
      ['subscribe', 'dacl/#', 'allow'],
      ['publish', 'dacl/r', 'allow'],
    ]);
  });

  it('the dashboard user may read $SYS/# from anywhere, not #', async (t) => {
    const cl = await remoteClient(plain!.mqttPort, { clientId: uid('dash'), username: 'dashboard' }, t);
    assert.equal(await granted(cl, '$SYS/#'), 1);
    assert.equal(await granted(cl, '#'), 0x80);
  });
});

describe('STARLING_ACL_FILE=none', () => {
  it('no rules: # is granted to any client and nothing is cached', async (t) => {
    const cl = await remoteClient(none!.mqttPort, { clientId: uid('remote') }, t);
    assert.equal(await granted(cl, '#'), 1);
    await cl.publish('dacl/n', 'x', { qos: 0 });
    assert.deepEqual(await aclCache(none!, cl.clientId), []);
  });
});
