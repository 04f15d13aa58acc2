// The topic metrics module on one node (node/features/topic-metrics.ts), driven through the
// hooks as the broker emits them: what it counts per QoS, that it is attached to the hooks
// only while loaded with a topic registered (nothing on the publish path otherwise), its
// EMQX-style rate, and registrations coming and going.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { TOPIC_METRIC_KEYS, TOPIC_METRICS_MAX } from '../../shared/api/topic-metrics.js';
import { Hooks } from '../../node/core/hooks.js';
import { topicMetricsFeature } from '../../node/features/topic-metrics.js';
import { createLogger } from '../../shared/logger.js';
import { newMessage, type QoS } from '../../shared/message.js';

const msg = (topic: string, qos: QoS) => newMessage({ topic, payload: Buffer.from('x'), qos, retain: false, from: 'c' });
const rec = (topic: string, at = 1) => ({ topic, create_time: at });

function emitAll(h: Hooks, topic: string, qos: QoS, deliveries: QoS[]): void {
  const m = msg(topic, qos);
  h.messagePublish.emit({ message: m });
  for (const q of deliveries) h.messageDelivered.emit({ clientid: 's', message: m, qos: q });
}

const attached = (h: Hooks): boolean[] => [h.messagePublish.active, h.messageDelivered.active, h.messageDropped.active];

it('counts in, out and dropped per QoS for registered topics only', () => {
  const h = new Hooks(createLogger('silent'));
  const tm = topicMetricsFeature(h);
  tm.setTopics([rec('a/b'), rec('a/c', 2)]);
  emitAll(h, 'a/b', 0, [0, 0]);
  emitAll(h, 'a/b', 1, [1, 0]);
  emitAll(h, 'a/b', 2, [2]);
  emitAll(h, 'a/x', 2, [2, 2]); // not registered
  emitAll(h, 'a/+', 1, [1]); // a filter is no topic name: never registered
  const none = msg('a/c', 1);
  h.messagePublish.emit({ message: none });
  h.messageDropped.emit({ message: none, reason: 'no_subscribers', clientid: undefined });
  // a delivery dropped for one subscriber is not a dropped message (EMQX's message.dropped)
  h.messageDropped.emit({ message: msg('a/b', 1), reason: 'no_local', clientid: 's' });

  const rows = tm.rows()!;
  assert.deepEqual(rows.map((r) => r.topic), ['a/b', 'a/c']);
  for (const r of rows) assert.deepEqual(Object.keys(r.metrics), [...TOPIC_METRIC_KEYS]);
  const counts = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([k, v]) => k.endsWith('.count') && v !== 0));
  assert.deepEqual(counts(rows[0]!.metrics), {
    'messages.in.count': 3,
    'messages.qos0.in.count': 1,
    'messages.qos1.in.count': 1,
    'messages.qos2.in.count': 1,
    'messages.out.count': 5,
    'messages.qos0.out.count': 3,
    'messages.qos1.out.count': 1,
    'messages.qos2.out.count': 1,
  });
  assert.deepEqual(counts(rows[1]!.metrics), { 'messages.in.count': 1, 'messages.qos1.in.count': 1, 'messages.dropped.count': 1 });
  assert.deepEqual(tm.rows('a/c')!.map((r) => r.topic), ['a/c']);
  assert.deepEqual(tm.rows('a/x'), []);
  tm.unload();
});

it('attached to the hooks only while loaded with a topic registered', () => {
  const h = new Hooks(createLogger('silent'));
  const tm = topicMetricsFeature(h);
  assert.equal(tm.active, true, 'loaded by default');
  assert.deepEqual(attached(h), [false, false, false], 'no topic: nothing attached');
  tm.setTopics([rec('t')]);
  assert.deepEqual(attached(h), [true, true, true]);
  tm.unload();
  assert.equal(tm.active, false);
  assert.deepEqual(attached(h), [false, false, false], 'unloaded: nothing attached');
  assert.equal(tm.rows(), null);
  tm.setTopics([rec('t'), rec('u')]);
  assert.deepEqual(attached(h), [false, false, false], 'registrations while unloaded attach nothing');
  tm.load();
  assert.deepEqual(tm.rows()!.map((r) => r.topic), ['t', 'u'], 'the registrations kept while unloaded');
  assert.deepEqual(attached(h), [true, true, true]);
  tm.setTopics([]);
  assert.deepEqual(attached(h), [false, false, false], 'the last topic gone: detached');
  assert.equal(topicMetricsFeature(h, { loaded: false }).active, false);
});

it('a registration kept keeps its counts; a new one and one loaded again start at zero; at most 512', () => {
  const h = new Hooks(createLogger('silent'));
  const tm = topicMetricsFeature(h);
  tm.setTopics([rec('a')]);
  emitAll(h, 'a', 1, [1]);
  tm.setTopics([rec('a'), rec('b', 2)]);
  emitAll(h, 'b', 0, []);
  const inCount = (t: string) => tm.rows(t)![0]?.metrics['messages.in.count'];
  assert.equal(inCount('a'), 1);
  assert.equal(inCount('b'), 1);
  tm.setTopics([rec('b', 2)]);
  tm.setTopics([rec('a', 3), rec('b', 2)]);
  assert.equal(inCount('a'), 0, 'unregistered, then registered again');
  tm.unload();
  tm.load();
  assert.equal(inCount('b'), 0, 'unloading drops the counts');
  tm.setTopics(Array.from({ length: TOPIC_METRICS_MAX + 3 }, (_, i) => rec(`q/${i}`, i)));
  assert.equal(tm.rows()!.length, TOPIC_METRICS_MAX);
  tm.unload();
});

it('rates: the moving average EMQX computes, updated every second, rising with traffic and fading without', async () => {
  const h = new Hooks(createLogger('silent'));
  const tm = topicMetricsFeature(h);
  tm.setTopics([rec('r')]);
  for (let i = 0; i < 100; i++) emitAll(h, 'r', 1, [1]);
  const rate = (k: string) => tm.rows('r')![0]!.metrics[k]!;
  assert.equal(rate('messages.in.rate'), 0, 'no tick yet');
  await new Promise((r) => setTimeout(r, 1150));
  // one tick: (0 × 4 + 100/s) / 5, give or take the timer's lateness
  const first = rate('messages.in.rate');
  // a timer may run a millisecond before Date.now() says the second is up: 100 / 0.999 s
  assert.ok(first > 10 && first <= 20.5, `after one tick: ${first}`);
  assert.equal(rate('messages.qos1.out.rate'), first);
  assert.equal(rate('messages.qos0.in.rate'), 0);
  await new Promise((r) => setTimeout(r, 1000));
  const second = rate('messages.in.rate');
  assert.ok(second < first && second > 0, `fading: ${second} after ${first}`);
  tm.unload();
});
