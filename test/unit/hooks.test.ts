/**
 * node/core/hooks.ts: attach and detach at runtime, order, a failing listener, and the
 * payloads a real in-process broker emits to MQTT.js clients.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../../node/broker.js';
import { Hooks, type HookEvents, type HookName } from '../../node/core/hooks.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { startInProcessBroker } from '../support/in-process.js';
import { closeAllClients, connectClient, sleep, tcpUrl, uid } from '../support/mqtt-clients.js';

/** A logger that keeps what is logged at error level. */
function captureLogger(): { log: Logger; errors: { obj: Record<string, unknown>; msg: string }[] } {
  const errors: { obj: Record<string, unknown>; msg: string }[] = [];
  const log = createLogger('silent');
  log.error = ((obj: Record<string, unknown>, msg: string) => void errors.push({ obj, msg })) as Logger['error'];
  return { log, errors };
}

const event = (clientid: string): HookEvents['session.unsubscribed'] => ({ clientid, topic: 't' });

describe('Hooks', () => {
  it('is inactive until a listener attaches, and again once the last detaches', () => {
    const hooks = new Hooks(createLogger('silent'));
    const h = hooks.sessionUnsubscribed;
    assert.equal(h.active, false);
    const detach = hooks.on('session.unsubscribed', () => {});
    assert.equal(h.active, true);
    detach();
    assert.equal(h.active, false);
    detach(); // idempotent
    assert.equal(h.listenerCount, 0);
  });

  it('calls listeners in attach order, and only the attached ones', () => {
    const hooks = new Hooks(createLogger('silent'));
    const seen: string[] = [];
    const a = (e: HookEvents['session.unsubscribed']) => seen.push(`a:${e.clientid}`);
    const b = (e: HookEvents['session.unsubscribed']) => seen.push(`b:${e.clientid}`);
    hooks.on('session.unsubscribed', a);
    const detachB = hooks.on('session.unsubscribed', b);
    hooks.sessionUnsubscribed.emit(event('1'));
    detachB();
    hooks.sessionUnsubscribed.emit(event('2'));
    hooks.off('session.unsubscribed', a);
    hooks.sessionUnsubscribed.emit(event('3'));
    assert.deepEqual(seen, ['a:1', 'b:1', 'a:2']);
  });

  it('a listener that detaches itself during emit does not make the next one miss the event', () => {
    const hooks = new Hooks(createLogger('silent'));
    const seen: string[] = [];
    const detach = hooks.on('session.unsubscribed', () => {
      seen.push('once');
      detach();
    });
    hooks.on('session.unsubscribed', () => seen.push('always'));
    hooks.sessionUnsubscribed.emit(event('1'));
    hooks.sessionUnsubscribed.emit(event('2'));
    assert.deepEqual(seen, ['once', 'always', 'always']);
  });

  it('logs a listener that throws; the others still run', () => {
    const { log, errors } = captureLogger();
    const hooks = new Hooks(log);
    const seen: string[] = [];
    hooks.on('session.unsubscribed', () => seen.push('before'));
    hooks.on('session.unsubscribed', () => {
      throw new Error('listener bug');
    });
    hooks.on('session.unsubscribed', () => seen.push('after'));
    assert.doesNotThrow(() => hooks.sessionUnsubscribed.emit(event('1')));
    assert.deepEqual(seen, ['before', 'after']);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.obj.hook, 'session.unsubscribed');
    assert.equal((errors[0]!.obj.err as Error).message, 'listener bug');
  });
});

describe('hooks of a running broker', () => {
  let broker: Broker;
  let port: number;
  const capture = captureLogger();
  const hooks = new Hooks(capture.log);
  const events: { name: HookName; e: HookEvents[HookName] }[] = [];
  const record = <E extends HookName>(name: E) => hooks.on(name, (e) => events.push({ name, e }));
  const of = <E extends HookName>(name: E, pred: (e: HookEvents[E]) => boolean = () => true): HookEvents[E][] =>
    events.filter((x) => x.name === name).map((x) => x.e as HookEvents[E]).filter(pred);

  before(async () => {
    ({ broker, port } = await startInProcessBroker('hooks-test@127.0.0.1', { log: capture.log, hooks }));
    for (const name of Object.keys({
      'client.connected': 0,
      'client.disconnected': 0,
      'session.subscribed': 0,
      'session.unsubscribed': 0,
      'message.publish': 0,
      'message.delivered': 0,
      'message.acked': 0,
      'message.dropped': 0,
    }) as HookName[])
      record(name);
  });

  after(async () => {
    await closeAllClients();
    await broker?.stop();
  });

  async function until(pred: () => boolean, what: string): Promise<void> {
    const end = Date.now() + 5000;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(10);
    }
  }

  it('emits connect, subscribe, publish, delivery, ack, unsubscribe, drop and disconnect with their details', async (t) => {
    const subId = uid('hsub');
    const pubId = uid('hpub');
    const topic = `hooks/${uid('t')}`;
    const sub = await connectClient(tcpUrl(port), { clientId: subId, username: 'ann', protocolVersion: 5 }, t);
    const connected = of('client.connected', (e) => e.client.clientid === subId);
    assert.equal(connected.length, 1);
    const c = connected[0]!.client;
    assert.equal(c.username, 'ann');
    assert.equal(c.protoVer, 5);
    assert.equal(c.sockport, port);
    assert.equal(c.peerhost, '127.0.0.1');

    await sub.subscribe(topic, { qos: 1 });
    const subscribed = of('session.subscribed', (e) => e.clientid === subId);
    assert.deepEqual(
      subscribed.map((e) => [e.topic, e.opts.qos, e.isNew]),
      [[topic, 1, true]],
    );

    const pub = await connectClient(tcpUrl(port), { clientId: pubId }, t);
    await pub.publish(topic, 'hello', { qos: 1 });
    await sub.waitForMessage(topic);
    const published = of('message.publish', (e) => e.message.topic === topic);
    assert.equal(published.length, 1);
    assert.equal(published[0]!.message.from, pubId);
    assert.equal(published[0]!.message.payload.toString(), 'hello');
    const delivered = of('message.delivered', (e) => e.message.topic === topic);
    assert.deepEqual(
      delivered.map((e) => [e.clientid, e.qos]),
      [[subId, 1]],
    );
    await until(() => of('message.acked', (e) => e.message.topic === topic).length === 1, 'the PUBACK of the subscriber');
    assert.equal(of('message.acked', (e) => e.message.topic === topic)[0]!.clientid, subId);

    await sub.unsubscribe(topic);
    assert.deepEqual(
      of('session.unsubscribed', (e) => e.clientid === subId).map((e) => e.topic),
      [topic],
    );
    await pub.publish(topic, 'nobody', { qos: 1 });
    const dropped = of('message.dropped', (e) => e.message.topic === topic);
    assert.deepEqual(
      dropped.map((e) => [e.reason, e.clientid, e.message.payload.toString()]),
      [['no_subscribers', undefined, 'nobody']],
    );

    await sub.end();
    await until(() => of('client.disconnected', (e) => e.client.clientid === subId).length === 1, 'the disconnect event');
    const gone = of('client.disconnected', (e) => e.client.clientid === subId)[0]!;
    assert.equal(gone.reason, 'normal');
    assert.ok(gone.disconnectedAt > 0);
  });

  it('a delivery a session drops is named with its subscriber', async (t) => {
    const id = uid('nl');
    const topic = `hooks/${uid('nl')}`;
    const c = await connectClient(tcpUrl(port), { clientId: id, protocolVersion: 5 }, t);
    await c.subscribe(topic, { qos: 1, nl: true });
    await c.publish(topic, 'to myself', { qos: 1 });
    assert.deepEqual(
      of('message.dropped', (e) => e.message.topic === topic).map((e) => [e.reason, e.clientid]),
      [['no_local', id]],
    );
    assert.equal(of('message.delivered', (e) => e.message.topic === topic).length, 0);
  });

  it('a listener that throws does not break the publish path', async (t) => {
    const detach = hooks.on('message.publish', () => {
      throw new Error('broken rule');
    });
    t.after(detach);
    const topic = `hooks/${uid('boom')}`;
    const sub = await connectClient(tcpUrl(port), { clientId: uid('bsub') }, t);
    await sub.subscribe(topic, { qos: 1 });
    const pub = await connectClient(tcpUrl(port), { clientId: uid('bpub') }, t);
    await pub.publish(topic, 'still delivered', { qos: 1 });
    assert.equal((await sub.waitForMessage(topic)).payload, 'still delivered');
    assert.ok(capture.errors.some((e) => e.obj.hook === 'message.publish' && (e.obj.err as Error).message === 'broken rule'));
  });

  it('presence is a hook subscriber switched at runtime', async (t) => {
    const watcher = await connectClient(tcpUrl(port), { clientId: uid('watch') }, t);
    await watcher.subscribe('$SYS/brokers/+/clients/#');
    assert.equal(broker.presence.enabled, true);
    const first = uid('p1');
    await connectClient(tcpUrl(port), { clientId: first }, t);
    await watcher.waitForMessage(new RegExp(`/clients/${first}/connected$`));

    broker.presence.disable();
    t.after(() => broker.presence.enable());
    const second = uid('p2');
    await connectClient(tcpUrl(port), { clientId: second }, t);
    await watcher.barrier();
    assert.equal(watcher.messages(new RegExp(`/clients/${second}/`)).length, 0, 'no presence event while disabled');

    broker.presence.enable();
    const third = uid('p3');
    await connectClient(tcpUrl(port), { clientId: third }, t);
    await watcher.waitForMessage(new RegExp(`/clients/${third}/connected$`));
  });
});
