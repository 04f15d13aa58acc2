// POST /api/v4/mqtt/{publish,subscribe,unsubscribe} and their _batch forms against a real
// 3-node cluster and a gateway process, with MQTT.js clients on different nodes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { api, startGateway, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
let base = '';

before(async () => {
  c = await startCluster(['n1', 'n2', 'n3']);
  gw = await startGateway(c);
  base = gw.url;
});

after(async () => {
  await closeAllClients();
  await gw?.stop();
  await c?.stop();
});

const port = (short: string): number => c!.node(short).mqttPort;
const post = (path: string, body: unknown) => api(base, 'POST', `/api/v4${path}`, { body });

/** A client on `node` subscribed to `topic` (MQTT 3.1.1 unless v5). */
async function subscriber(t: { after(fn: () => unknown): void }, node: string, topic: string | string[], opts: { v5?: boolean; qos?: 0 | 1 | 2 } = {}): Promise<TestClient> {
  const sub = await connectClient(tcpUrl(port(node)), { clientId: uid('sub'), protocolVersion: opts.v5 ? 5 : 4 }, t);
  await sub.subscribe(topic, { qos: opts.qos ?? 1 });
  return sub;
}

/** Asserts an error answer: HTTP status, result code and a message. */
function assertError(r: { status: number; body: any }, status: number, code: number): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.code, code, JSON.stringify(r.body));
  assert.equal(typeof r.body.message, 'string');
}

describe('POST /mqtt/publish', () => {
  it('publishes the spec example once, reaching a subscriber on another node', async (t) => {
    const sub = await subscriber(t, 'n2', 'a/b/c');
    const r = await post('/mqtt/publish', {
      topic: 'a/b/c',
      payload: 'Hello World',
      qos: 1,
      retain: false,
      clientid: 'example',
      properties: { user_properties: { id: 10010, name: 'emqx', foo: 'bar' }, content_type: 'text/plain' },
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { code: 0 });
    const m = await sub.waitForMessage('a/b/c');
    assert.equal(m.payload, 'Hello World');
    assert.equal(m.qos, 1);
    assert.equal(m.retain, false);
    await sub.barrier();
    assert.equal(sub.messages('a/b/c').length, 1, 'published once, not once per node');
  });

  it('decodes base64 payloads (binary bytes intact) and defaults to plain, QoS 0', async (t) => {
    const topic = uid('b64');
    const sub = await subscriber(t, 'n3', `${topic}/#`);
    const bytes = Buffer.from([0, 1, 2, 250, 255, 10]);
    assert.deepEqual((await post('/mqtt/publish', { topic: `${topic}/bin`, payload: bytes.toString('base64'), encoding: 'base64', qos: 1, clientid: 'api' })).body, { code: 0 });
    assert.deepEqual((await post('/mqtt/publish', { topic: `${topic}/plain`, payload: 'aGVsbG8=', clientid: 'api' })).body, { code: 0 });
    const [bin, plain] = await sub.waitForMessages(2);
    assert.equal(bin!.topic, `${topic}/bin`);
    assert.deepEqual(Buffer.from(bin!.packet.payload as Buffer), bytes);
    assert.equal(plain!.topic, `${topic}/plain`);
    assert.equal(plain!.payload, 'aGVsbG8=', 'plain is the default encoding');
    assert.equal(plain!.qos, 0, 'QoS 0 is the default');
  });

  it('publishes to every topic of `topics`, and a JSON object payload as its JSON text', async (t) => {
    const p = uid('multi');
    const sub = await subscriber(t, 'n1', `${p}/#`);
    assert.deepEqual((await post('/mqtt/publish', { topics: `${p}/x,${p}/y`, payload: { k: 1 }, qos: 1, clientid: 'api' })).body, { code: 0 });
    const got = await sub.waitForMessages(2);
    assert.deepEqual(got.map((m) => m.topic).sort(), [`${p}/x`, `${p}/y`]);
    assert.deepEqual(got.map((m) => m.payload), ['{"k":1}', '{"k":1}']);
  });

  it('retains a message cluster-wide', async (t) => {
    const topic = uid('ret');
    assert.deepEqual((await post('/mqtt/publish', { topic, payload: 'kept', retain: true, qos: 1, clientid: 'api-retainer' })).body, { code: 0 });
    t.after(() => post('/mqtt/publish', { topic, payload: '', retain: true, clientid: 'api-retainer' }));
    for (const node of ['n1', 'n2', 'n3']) {
      const late = await subscriber(t, node, topic);
      const m = await late.waitForMessage(topic);
      assert.equal(m.payload, 'kept');
      assert.equal(m.retain, true, `retained flag on ${node}`);
    }
  });

  it('carries MQTT 5 properties to a v5 subscriber', async (t) => {
    const topic = uid('props');
    const sub = await subscriber(t, 'n3', topic, { v5: true });
    const r = await post('/mqtt/publish', {
      topic,
      payload: 'with props',
      qos: 1,
      clientid: 'example',
      properties: {
        payload_format_indicator: 1,
        message_expiry_interval: 60,
        response_topic: 'reply/here',
        correlation_data: 'corr-1',
        user_properties: { id: 10010, name: 'emqx' },
        content_type: 'text/plain',
      },
    });
    assert.deepEqual(r.body, { code: 0 });
    const m = await sub.waitForMessage(topic);
    const p = m.packet.properties!;
    assert.deepEqual({ ...p.userProperties }, { id: '10010', name: 'emqx' });
    assert.equal(p.contentType, 'text/plain');
    assert.equal(p.responseTopic, 'reply/here');
    assert.equal(Buffer.from(p.correlationData!).toString(), 'corr-1');
    assert.equal(p.payloadFormatIndicator, true);
    assert.ok(p.messageExpiryInterval! > 0 && p.messageExpiryInterval! <= 60, `expiry ${p.messageExpiryInterval}`);
  });

  it('publishes on the node where the clientid is connected', async (t) => {
    const topic = uid('home');
    const publisher = await connectClient(tcpUrl(port('n3')), { clientId: uid('home-pub') }, t);
    const sub = await subscriber(t, 'n2', topic);
    const published = async (short: string): Promise<number> =>
      (await c!.transport.request(`${short}@127.0.0.1`, 'metrics.get', {}, 2000))['messages.publish'];
    const before = await Promise.all(['n1', 'n2', 'n3'].map(published));
    assert.deepEqual((await post('/mqtt/publish', { topic, payload: 'from home', clientid: publisher.clientId, qos: 1 })).body, { code: 0 });
    await sub.waitForMessage(topic);
    const after = await Promise.all(['n1', 'n2', 'n3'].map(published));
    assert.deepEqual(
      after.map((n, i) => n - before[i]!),
      [0, 0, 1],
      'published once, on n3',
    );
  });

  it('answers malformed requests with 400 and the EMQX result code', async () => {
    assertError(await post('/mqtt/publish', { payload: 'x', clientid: 'c' }), 400, 107);
    assertError(await post('/mqtt/publish', { topic: 'a/+', payload: 'x', clientid: 'c' }), 400, 115);
    assertError(await post('/mqtt/publish', { topics: 'ok/t,a/#', payload: 'x', clientid: 'c' }), 400, 115);
    assertError(await post('/mqtt/publish', { topic: '', payload: 'x', clientid: 'c' }), 400, 115);
    assertError(await post('/mqtt/publish', { topic: 'q', payload: 'x', qos: 3, clientid: 'c' }), 400, 116);
    assertError(await post('/mqtt/publish', { topic: 'q', payload: 'x', qos: '1', clientid: 'c' }), 400, 116);
    assertError(await post('/mqtt/publish', { topic: 'q', payload: 'x', encoding: 'hex', clientid: 'c' }), 400, 108);
    assertError(await post('/mqtt/publish', { topic: 'q', payload: '!!not base64!!', encoding: 'base64', clientid: 'c' }), 400, 108);
    assertError(await post('/mqtt/publish', { topic: 'q', payload: 'x', retain: 'yes', clientid: 'c' }), 400, 108);
    assertError(await post('/mqtt/publish', { topic: 'q', payload: 'x', clientid: 42 }), 400, 108);
    assertError(await post('/mqtt/publish', { topic: 'q', payload: 5, clientid: 'c' }), 400, 108);
    assertError(await post('/mqtt/publish', { topic: 'q', payload: 'x', properties: { message_expiry_interval: -1 }, clientid: 'c' }), 400, 108);
    assertError(await post('/mqtt/publish', { topic: 'q', payload: 'x', properties: { response_topic: 'r/#' }, clientid: 'c' }), 400, 108);
    assertError(await post('/mqtt/publish', [{ topic: 'q' }]), 400, 108);
    assertError(await api(base, 'POST', '/api/v4/mqtt/publish', { raw: '{"topic": "q", ' }), 400, 109);
    // the spec marks clientid Required: missing, it is 107 like any missing parameter
    const noClient = await post('/mqtt/publish', { topic: 'q', payload: 'x' });
    assertError(noClient, 400, 107);
    assert.match(noClient.body.message, /clientid/);
    const unauth = await api(base, 'POST', '/api/v4/mqtt/publish', { body: { topic: 'q', payload: 'x' }, auth: 'admin:wrong' });
    assert.equal(unauth.status, 401);
  });
});

describe('POST /mqtt/subscribe and /mqtt/unsubscribe', () => {
  it('subscribes a client on n3 for the API, then unsubscribes it', async (t) => {
    const p = uid('apisub');
    const target = await connectClient(tcpUrl(port('n3')), { clientId: uid('target') }, t);
    const publisher = await connectClient(tcpUrl(port('n1')), { clientId: uid('pub') }, t);
    const r = await post('/mqtt/subscribe', { topics: `${p}/a,${p}/b`, qos: 1, clientid: target.clientId });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { code: 0 });
    // the routes reach n1 asynchronously: publish until the first message arrives
    for (let i = 0; target.messages(`${p}/a`).length === 0; i++) {
      assert.ok(i < 100, 'no message on the API subscription');
      await publisher.publish(`${p}/a`, 'one', { qos: 1 });
      await new Promise((res) => setTimeout(res, 20));
    }
    await publisher.publish(`${p}/b`, 'two', { qos: 1 });
    const b = await target.waitForMessage(`${p}/b`);
    assert.equal(b.qos, 1, 'granted the requested QoS');

    assert.deepEqual((await post('/mqtt/unsubscribe', { topic: `${p}/a`, qos: 1, clientid: target.clientId })).body, { code: 0 });
    // n1 drops the route asynchronously; a then b from one publisher arrive in order, so
    // b arriving without a before it shows a is no longer delivered
    for (let i = 0; ; i++) {
      assert.ok(i < 100, 'the unsubscribed topic is still delivered');
      const mark = target.mark();
      await publisher.publish(`${p}/a`, 'gone', { qos: 1 });
      await publisher.publish(`${p}/b`, 'still', { qos: 1 });
      await target.waitForMessage(`${p}/b`, { from: mark });
      if (target.messages().slice(mark).every((m) => m.topic !== `${p}/a`)) break;
      await new Promise((res) => setTimeout(res, 20));
    }
  });

  it('answers 112 for a client connected nowhere, and 400s for bad requests', async (t) => {
    const nobody = await post('/mqtt/subscribe', { topic: 'x', clientid: uid('nobody') });
    assert.equal(nobody.status, 200);
    assert.equal(nobody.body.code, 112);
    assert.equal((await post('/mqtt/unsubscribe', { topic: 'x', clientid: uid('nobody') })).body.code, 112);
    const target = await connectClient(tcpUrl(port('n2')), { clientId: uid('target') }, t);
    assertError(await post('/mqtt/subscribe', { topic: 'x' }), 400, 107);
    assertError(await post('/mqtt/subscribe', { clientid: target.clientId }), 400, 107);
    assertError(await post('/mqtt/subscribe', { topic: 'a/#/b', clientid: target.clientId }), 400, 115);
    assertError(await post('/mqtt/subscribe', { topic: '$share/g', clientid: target.clientId }), 400, 115);
    assertError(await post('/mqtt/subscribe', { topic: 'x', qos: 5, clientid: target.clientId }), 400, 116);
    assertError(await post('/mqtt/unsubscribe', { topic: 'a/#/b', clientid: target.clientId }), 400, 115);
    assertError(await post('/mqtt/unsubscribe', { clientid: target.clientId }), 400, 107);
    // unsubscribing a topic the client never had succeeds, as in EMQX
    assert.deepEqual((await post('/mqtt/unsubscribe', { topic: 'never/had', clientid: target.clientId })).body, { code: 0 });
  });
});

describe('batches', () => {
  it('publish_batch answers a code per item, publishing the good ones in order', async (t) => {
    const p = uid('batch');
    const sub = await subscriber(t, 'n2', `${p}/#`);
    const r = await post('/mqtt/publish_batch', [
      { topic: `${p}/1`, payload: 'one', qos: 1, retain: false, clientid: 'example', properties: { user_properties: { id: 10010 } } },
      { topic: `${p}/+`, payload: 'bad topic', clientid: 'example' },
      { payload: 'no topic', clientid: 'example' },
      { topic: `${p}/4`, payload: 'no clientid' },
      { topic: `${p}/q`, payload: 'bad qos', qos: 7, clientid: 'example' },
      { topics: `${p}/2,${p}/3`, payload: 'two', qos: 1, clientid: 'example' },
      'not an object',
    ]);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      data: [
        { topic: `${p}/1`, code: 0 },
        { topic: `${p}/+`, code: 115 },
        { topic: '', code: 107 },
        { topic: `${p}/4`, code: 107 },
        { topic: `${p}/q`, code: 116 },
        { topic: `${p}/2,${p}/3`, code: 0 },
        { topic: '', code: 108 },
      ],
      code: 0,
    });
    const got = await sub.waitForMessages(3);
    assert.deepEqual(
      got.map((m) => `${m.topic}=${m.payload}`),
      [`${p}/1=one`, `${p}/2=two`, `${p}/3=two`],
    );
    assertError(await post('/mqtt/publish_batch', { topic: 'x' }), 400, 108);
    assert.deepEqual((await post('/mqtt/publish_batch', [])).body, { data: [], code: 0 });
  });

  it('subscribe_batch and unsubscribe_batch answer a code per item', async (t) => {
    const p = uid('sbatch');
    const target = await connectClient(tcpUrl(port('n3')), { clientId: uid('target') }, t);
    const publisher = await connectClient(tcpUrl(port('n1')), { clientId: uid('pub') }, t);
    const ghost = uid('ghost');
    const r = await post('/mqtt/subscribe_batch', [
      { topic: `${p}/a`, qos: 1, clientid: target.clientId },
      { topic: `${p}/b`, qos: 1, clientid: ghost },
      { topic: `${p}/#/c`, qos: 1, clientid: target.clientId },
      { topic: `${p}/c`, qos: 1, clientid: target.clientId },
    ]);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      data: [
        { clientid: target.clientId, topic: `${p}/a`, code: 0 },
        { clientid: ghost, topic: `${p}/b`, code: 112 },
        { clientid: target.clientId, topic: `${p}/#/c`, code: 115 },
        { clientid: target.clientId, topic: `${p}/c`, code: 0 },
      ],
      code: 0,
    });
    for (let i = 0; target.messages(`${p}/c`).length === 0; i++) {
      assert.ok(i < 100, 'no message on the batch subscription');
      await publisher.publish(`${p}/c`, 'c', { qos: 1 });
      await new Promise((res) => setTimeout(res, 20));
    }
    await publisher.publish(`${p}/a`, 'a', { qos: 1 });
    await target.waitForMessage(`${p}/a`);

    const u = await post('/mqtt/unsubscribe_batch', [
      { topic: `${p}/a`, qos: 1, clientid: target.clientId },
      { topic: `${p}/c`, clientid: ghost },
      { clientid: target.clientId },
    ]);
    assert.deepEqual(u.body, {
      data: [
        { clientid: target.clientId, topic: `${p}/a`, code: 0 },
        { clientid: ghost, topic: `${p}/c`, code: 112 },
        { clientid: target.clientId, topic: '', code: 107 },
      ],
      code: 0,
    });
    assertError(await post('/mqtt/subscribe_batch', 'x'), 400, 108);
  });
});
