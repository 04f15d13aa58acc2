/**
 * Durable sessions' store logic over the in-memory store (node/session/durable/): the store
 * contract, the journal's trim floor, and a session stored by one in-process broker and
 * resumed by another that shares the store, as a node that died and a survivor would.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Broker } from '../../node/broker.js';
import { durableHost } from '../../node/cluster/durable.js';
import { DurableSessions } from '../../node/session/durable/durable-sessions.js';
import { SessionJournal } from '../../node/session/durable/journal.js';
import { MemorySessionStore } from '../../node/session/durable/memory-store.js';
import { expired } from '../../node/session/durable/record.js';
import { decodeChunk, decodeOwed, encodeChunk, encodeOwed } from '../../node/session/durable/owed-message.js';
import { StoreFullError, type SessionRecord } from '../../node/session/durable/store.js';
import { DurableWriter } from '../../node/session/durable/writer.js';
import { newMessage } from '../../shared/message.js';
import { createLogger } from '../../shared/logger.js';
import { startInProcessBroker } from '../support/in-process.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';

after(() => closeAllClients());

const record = (clientid: string, gen = 'g'): SessionRecord => ({ clientid, node: 'n', gen, createdAt: 1, expiryInterval: 10, disconnectedAt: 0, subscriptions: [], awaitingRel: [], released: [] });

test('memory store: append in order, trim below a seq, per-session and overall limits, conditional writes', async () => {
  const s = new MemorySessionStore({ perSession: 3, maxMessages: 5 });
  const seqs = [];
  for (let i = 0; i < 4; i++) seqs.push(await s.append('a', 'g', Uint8Array.of(i)));
  assert.deepEqual((await s.messages('a', 'g')).map((m) => m.data[0]), [1, 2, 3]); // the oldest dropped
  await s.trim('a', 'g', seqs[2]!);
  assert.deepEqual((await s.messages('a', 'g')).map((m) => m.data[0]), [2, 3]);
  for (let i = 0; i < 3; i++) await s.append('b', 'g', Uint8Array.of(i));
  await assert.rejects(s.append('c', 'g', Uint8Array.of(0)), StoreFullError);
  await s.put(record('a'));
  const e = (await s.get('a'))!;
  assert.equal(await s.update(record('a'), e.revision + 1), false);
  assert.equal(await s.update(record('a'), e.revision), true);
  assert.equal(await s.remove('a', e.revision), false, 'the update moved the revision');
  assert.equal(await s.remove('a'), true);
  await s.purge('b', undefined);
  assert.deepEqual(await s.counts(), { messages: 2, records: 0 });
});

test('owed messages round-trip with QoS, retain, subscription identifiers and MQTT 5 properties', () => {
  const msg = newMessage({ topic: 'a/b', payload: Buffer.from('x'), qos: 2, retain: false, from: 'c', properties: { contentType: 'text/plain' }, expiresAt: 123 });
  for (const o of [{ msg, qos: 1 as const, retain: true, subId: 7 }, { msg, qos: 2 as const, retain: false, subId: undefined }, { msg, qos: 1 as const, retain: false, subId: 3, subIds: [3, 70000, 9] }]) {
    const back = decodeOwed(encodeOwed(o));
    assert.equal(back.qos, o.qos);
    assert.equal(back.retain, o.retain);
    assert.equal(back.subId, o.subId);
    assert.deepEqual(back.subIds, 'subIds' in o ? o.subIds : undefined);
    assert.equal(back.msg.topic, 'a/b');
    assert.equal(back.msg.payload.toString(), 'x');
    assert.deepEqual(back.msg.properties, { contentType: 'text/plain' });
    assert.equal(back.msg.expiresAt, 123);
  }
});

test('journal: the trim floor passes only entries acknowledged and stored, in store order', () => {
  const writer = { append() {}, trimLater() {}, writeRecord: () => Promise.resolve() } as unknown as DurableWriter;
  const j = new SessionJournal(writer, 'c', 'g', () => record('c'));
  const [a, b, c] = [j.restored(10, 0), j.restored(11, 0), j.restored(12, 0)];
  j.done(b);
  assert.equal(j.floor(), 10, 'the oldest is still owed: nothing below it goes');
  j.done(a);
  assert.equal(j.floor(), 12);
  const d = j.append({ msg: newMessage({ topic: 't', payload: Buffer.alloc(0), qos: 1, retain: false, from: 'x' }), qos: 1, retain: false, subId: undefined });
  j.done(c);
  j.done(d);
  assert.equal(j.floor(), 13, 'd has no seq yet: the floor stops before it');
  d.seq = 20;
  assert.equal(j.floor(), 21);
  // copies stored together in one batch go together
  const [e, f] = [j.restored(30, 0), j.restored(30, 1)];
  j.done(e);
  assert.equal(j.floor(), 30, 'half of batch 30 is still owed');
  j.done(f);
  assert.equal(j.floor(), 31);
});

test('writer: a record put lost with the store connection goes again on reconnect, so the PUBREL waiting for it goes; while the store is away the PUBREL does not wait', async () => {
  class Flaky extends MemorySessionStore {
    override connected: boolean = true;
    puts = 0;
    private readonly back: (() => void)[] = [];
    override onReconnect(cb: () => void): void {
      this.back.push(cb);
    }
    reconnect(): void {
      for (const cb of this.back) cb();
    }
    private sent: () => void = () => {};
    readonly firstSent = new Promise<void>((r) => (this.sent = r));
    override put(r: SessionRecord): Promise<void> {
      // the first put is sent into a dead connection: no answer until its (long) timeout
      if (++this.puts !== 1) return super.put(r);
      this.sent();
      return new Promise(() => {});
    }
  }
  const store = new Flaky();
  const writer = new DurableWriter(store, { full() {}, accepting() {} }, createLogger('silent'));
  const j = new SessionJournal(writer, 'c', 'g', () => record('c'));
  let stored = false;
  const written = j.release(j.restored(10, 0), 1).then(() => (stored = true));
  await store.firstSent;
  assert.equal(store.puts, 1);
  assert.equal(stored, false, 'the PUBREL waits for the lost put');
  store.reconnect();
  await written;
  assert.equal(store.puts, 2);
  assert.equal((await store.get('c'))?.record.clientid, 'c');
  // while the store is away a PUBREL does not wait for it, as a publisher's acknowledgement does not
  store.connected = false;
  store.puts = 0;
  await j.release(j.restored(11, 0), 2);
  assert.equal(store.puts, 0, 'let go before the (lost) write is even attempted');
});

test('a batch of copies round-trips', () => {
  const m = (p: string) => ({ msg: newMessage({ topic: 't', payload: Buffer.from(p), qos: 1, retain: false, from: 'x' }), qos: 1 as const, retain: false, subId: undefined });
  const back = decodeChunk(encodeChunk([encodeOwed(m('a')), encodeOwed(m('bc'))]));
  assert.deepEqual(back.map((o) => o.msg.payload.toString()), ['a', 'bc']);
});

/** An in-process broker with durable sessions over `store`, every other node counted dead. */
async function durableBroker(name: string, store: MemorySessionStore): Promise<{ broker: Broker; port: number }> {
  const b = await startInProcessBroker(name);
  b.broker.durable = new DurableSessions(store, durableHost(b.broker, () => false, createLogger('silent')), 0);
  await b.broker.durable.start();
  return b;
}

test('a persistent session stored by one broker resumes on another sharing the store: subscriptions and every queued message; clean sessions store nothing', async (t) => {
  const store = new MemorySessionStore();
  const a = await durableBroker('a@127.0.0.1', store);
  t.after(() => a.broker.stop());
  const topic = uid('dur');
  const clientId = uid('sub');
  const sub = await connectClient(tcpUrl(a.port), { clientId, clean: false }, t);
  await sub.subscribe(topic, { qos: 1 });
  await sub.end();
  const clean = await connectClient(tcpUrl(a.port), { clientId: uid('clean') }, t);
  await clean.subscribe(topic, { qos: 2 });
  const pub = await connectClient(tcpUrl(a.port), { clientId: uid('pub') }, t);
  for (let i = 0; i < 10; i++) await pub.publish(topic, String(i), { qos: 1 });
  await clean.waitForMessages(10);
  // every PUBACK came after the copy was stored
  const stored = (await store.messages(clientId, (await store.get(clientId))!.record.gen)).flatMap((x) => decodeChunk(x.data));
  assert.equal(stored.length, 10);
  await a.broker.stop(); // a node going away (stopping keeps durable sessions in the store)
  assert.equal((await store.clientids()).length, 1, 'only the persistent session has a record');
  const b = await durableBroker('b@127.0.0.1', store);
  t.after(() => b.broker.stop());
  const back = await connectClient(tcpUrl(b.port), { clientId, clean: false }, t);
  assert.equal(back.connack?.sessionPresent, true);
  const got = await back.waitForMessages(10);
  assert.deepEqual(got.map((m) => m.payload), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.ok(got.every((m) => m.dup), 'read back from the store: sent with DUP');
  // its subscription came back too
  const pub2 = await connectClient(tcpUrl(b.port), { clientId: uid('pub2') }, t);
  await pub2.publish(topic, 'live', { qos: 1 });
  await back.waitForMessage((m) => m.payload === 'live');
  await back.end();
});

test('a stored session expires after its interval, every interval up to 0xFFFFFFFE holds, 0xFFFFFFFF never expires', () => {
  const at = 1_000_000;
  const r = (expiryInterval: number, disconnectedAt = at): SessionRecord => ({ ...record('c'), expiryInterval, disconnectedAt });
  assert.equal(expired(r(2), at + 1999), false);
  assert.equal(expired(r(2), at + 2000), true);
  assert.equal(expired(r(0xfffffffe), at + 0xfffffffe * 1000 - 1), false);
  assert.equal(expired(r(2592000), at + 2592000 * 1000 - 1), false, '30 days (beyond a 32-bit timer) holds');
  assert.equal(expired(r(0xffffffff), Number.MAX_SAFE_INTEGER), false);
  assert.equal(expired(r(2, 0), at + 10_000), false, 'still connected (its node died with it): the clock has not started');
});
