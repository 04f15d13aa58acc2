/**
 * The end checks of a soak run, each a named pass/fail with what it measured: nothing owed
 * lost, nothing leaked in Redis, the memory back near its baseline, metrics that add up.
 */
import { Redis } from 'ioredis';
import type { LedgerResult } from './ledger.js';
import type { Ledger } from './ledger.js';
import { apiGet } from './pollers.js';
import type { TrafficStats } from './population.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });

type Metrics = Record<string, number>;

/** Every node's EMQX metrics, by node name, from GET /api/v4/metrics. */
export async function nodeMetrics(base: string): Promise<Map<string, Metrics>> {
  const { body } = await apiGet(base, '/api/v4/metrics');
  const out = new Map<string, Metrics>();
  for (const row of (body?.data ?? []) as { node: string; metrics: Metrics }[]) out.set(row.node, row.metrics);
  return out;
}

const sum = (m: Metrics, names: string[]): number => names.reduce((a, n) => a + (m[n] ?? 0), 0);
const DROP_REASONS = ['too_large', 'queue_full', 'qos0_msg', 'expired', 'no_local'].map((r) => `delivery.dropped.${r}`);

/** Totals over the nodes. */
export function clusterTotals(per: Map<string, Metrics>): Metrics {
  const t: Metrics = {};
  for (const m of per.values()) for (const [k, v] of Object.entries(m)) t[k] = (t[k] ?? 0) + v;
  return t;
}

/** The name of the completeness check (a test may need to single it out). */
export const PERSISTENT_COMPLETE = 'persistent subscribers got every acknowledged QoS 1/2 message (but counted queue-full drops)';

export const REDIS_NO_LEAKS = 'Redis: no client registration, route or purge left';
export const PERSISTENT_EXACTLY_ONCE = 'QoS 2 exactly once to persistent subscribers, across their connections';

/**
 * The ledger against the metrics: every owed pair delivered, but for the queue-full drops
 * the nodes counted; QoS 2 exactly once.
 */
export function deliveryChecks(r: LedgerResult, totals: Metrics): Check[] {
  const queueFull = totals['delivery.dropped.queue_full'] ?? 0;
  return [
    check(PERSISTENT_COMPLETE, r.missing <= queueFull,
      `${r.owed} owed, ${r.missing} missing, ${queueFull} counted queue_full${r.missingExamples.length ? `; e.g. ${r.missingExamples.join('; ')}` : ''}`),
    check(PERSISTENT_EXACTLY_ONCE, r.qos2DuplicatesPersistent === 0, `${r.qos2DuplicatesPersistent} duplicates${r.duplicateExamples.length ? ` (e.g. ${r.duplicateExamples.join('; ')})` : ''}; QoS 1 duplicates (allowed): ${r.qos1Duplicates}`),
    check('QoS 2 exactly once to clean subscribers while connected and to one member of a shared group', r.qos2Duplicates === r.qos2DuplicatesPersistent, `${r.qos2Duplicates - r.qos2DuplicatesPersistent} duplicates`),
  ];
}

/** Sums each node's metrics must satisfy, and the cluster's totals against what the clients did. */
export function metricChecks(per: Map<string, Metrics>, ledger: Ledger, extraQos1: number): Check[] {
  const bad: string[] = [];
  for (const [node, m] of per) {
    const pairs: [string, number, number][] = [
      ['messages.received', m['messages.received'] ?? 0, sum(m, ['messages.qos0.received', 'messages.qos1.received', 'messages.qos2.received'])],
      ['messages.sent', m['messages.sent'] ?? 0, sum(m, ['messages.qos0.sent', 'messages.qos1.sent', 'messages.qos2.sent'])],
      ['delivery.dropped', m['delivery.dropped'] ?? 0, sum(m, DROP_REASONS)],
    ];
    for (const [name, total, parts] of pairs) if (total !== parts) bad.push(`${node} ${name} ${total} != sum of its kinds ${parts}`);
  }
  const t = clusterTotals(per);
  const acked = ledger.result().acked;
  const receivedQos12 = sum(t, ['messages.qos1.received', 'messages.qos2.received']);
  const [a0, a1, a2] = ledger.attempted;
  const seen = ledger.deliveries.reduce((a, b) => a + b, 0);
  // every message received ends delivered to someone or dropped (no subscriber, a full forward backlog)
  const outcomes = sum(t, ['messages.delivered', 'messages.dropped', 'delivery.dropped']);
  return [
    check('per node: each total is the sum of its kinds (received and sent by QoS, delivery drops by reason)', per.size > 0 && bad.length === 0, bad.length ? bad.slice(0, 5).join('; ') : `${per.size} nodes`),
    check('cluster: every acknowledged QoS 1/2 publish was counted received, none counted twice',
      receivedQos12 >= acked && (t['messages.qos2.received'] ?? 0) <= a2 && (t['messages.qos1.received'] ?? 0) <= a1 + extraQos1 && (t['messages.qos0.received'] ?? 0) <= a0,
      `received qos0/1/2 ${t['messages.qos0.received']}/${t['messages.qos1.received']}/${t['messages.qos2.received']}, attempted ${a0}/${a1}/${a2} (+${extraQos1} retained and will QoS 1), acknowledged QoS 1/2 ${acked}`),
    check('cluster: received <= delivered + dropped', (t['messages.received'] ?? 0) <= outcomes, `received ${t['messages.received']}, delivered ${t['messages.delivered']}, messages.dropped ${t['messages.dropped']}, delivery.dropped ${t['delivery.dropped']}`),
    check('cluster: sent >= what the soak clients received', (t['messages.sent'] ?? 0) >= seen, `sent ${t['messages.sent']}, received by clients ${seen}`),
  ];
}

/** Keys a cluster keeps after every client left: membership, cluster config, retained messages. */
const KEPT = /^starling:(nodes|apps|banned|retained|config:.*)$/;

/** Redis after every client left and every session ended: no client registration, route or purge left. */
export async function redisLeaks(url: string): Promise<{ leaked: string[]; keys: number }> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    const keys = await r.keys('*');
    const leaked: string[] = [];
    for (const k of keys) {
      if (k === 'starling:clients') {
        const n = await r.hlen(k);
        if (n > 0) leaked.push(`${k} (${n} client registrations: ${(await r.hkeys(k)).slice(0, 3).join(', ')}...)`);
      } else if (!KEPT.test(k)) {
        const type = await r.type(k);
        const members = type === 'set' ? `: ${(await r.smembers(k)).slice(0, 5).join(', ')}` : '';
        leaked.push(`${k} (${type}${members})`);
      }
    }
    return { leaked, keys: keys.length };
  } finally {
    r.disconnect();
  }
}

export function willChecks(s: TrafficStats): Check[] {
  return [check('no will published for a graceful DISCONNECT', s.willsSpurious === 0, `${s.willsSpurious} spurious; ${s.willsSeen} wills seen of ${s.willsExpected} dropped sockets`)];
}

/** A fresh subscriber's retained messages: each topic's last acknowledged value, or one sent after it. */
export function retainedCheck(s: TrafficStats, got: Map<string, string>): Check {
  const bad: string[] = [];
  for (const [topic, book] of s.retained) {
    const v = got.get(topic);
    if (book.acked === undefined && v === undefined) continue;
    if (v !== book.acked && !(v !== undefined && book.later.has(v))) bad.push(`${topic}: ${v ?? 'none'}, last acknowledged ${book.acked}`);
  }
  return check('retained: each topic holds its last acknowledged value', bad.length === 0, bad.length ? bad.slice(0, 5).join('; ') : `${s.retained.size} topics`);
}

const NEAR_BASELINE_BYTES = 64 * 1048576;

export function memoryCheck(baseline: Map<string, number>, peak: Map<string, number>, end: Map<string, number>, label: string): Check {
  const lines: string[] = [];
  let ok = baseline.size > 0;
  const mb = (b: number) => `${(b / 1048576).toFixed(0)}`;
  for (const [node, b] of baseline) {
    const p = Math.max(peak.get(node) ?? b, b);
    const e = end.get(node) ?? Infinity;
    // near: within 64 MiB of the start, or back by at least half of what the load added. The
    // nodes run without a forced GC, so garbage the last clients left may still be counted.
    const near = e <= b + Math.max(NEAR_BASELINE_BYTES, (p - b) / 2);
    ok &&= near;
    lines.push(`${node} ${mb(b)}→${mb(p)}→${mb(e)} MiB`);
  }
  return check(`memory (${label}) back near its baseline after the clients left`, ok, `baseline→peak→end: ${lines.join(', ')}`);
}
