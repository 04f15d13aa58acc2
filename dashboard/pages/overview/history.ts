// The last hour of cluster-wide samples, kept in the browser (module state: it survives
// moving between pages, not a reload). Counters become per-second rates between samples.
import { get } from '../../lib/api.js';

export const SAMPLE_MS = 3000;
const KEEP_MS = 60 * 60 * 1000;

export interface History {
  t: number[]; // seconds, as uPlot wants
  connections: number[];
  received: number[];
  sent: number[];
  dropped: number[];
}

export const history: History = { t: [], connections: [], received: [], sent: [], dropped: [] };
let last: { at: number; received: number; sent: number; dropped: number } | undefined;

type PerNode<K extends string> = ({ node: string } & Record<K, Record<string, number>>)[];

function sum(rows: Record<string, number>[], name: string): number {
  let s = 0;
  for (const r of rows) s += r[name] ?? 0;
  return s;
}

/** One sample from GET /api/v4/metrics and /stats (one row per node, summed). */
export async function sample(): Promise<void> {
  const [m, s] = await Promise.all([get<PerNode<'metrics'>>('/metrics'), get<PerNode<'stats'>>('/stats')]);
  const metrics = m.data.map((r) => r.metrics ?? r);
  const stats = s.data.map((r) => r.stats ?? r);
  const at = Date.now();
  const now = { at, received: sum(metrics, 'messages.received'), sent: sum(metrics, 'messages.sent'), dropped: sum(metrics, 'messages.dropped') };
  if (last) {
    const dt = Math.max(0.001, (at - last.at) / 1000);
    // a node restart resets its counters: never show a negative rate
    const rate = (a: number, b: number): number => Math.max(0, (a - b) / dt);
    history.t.push(at / 1000);
    history.connections.push(sum(stats, 'connections.count'));
    history.received.push(rate(now.received, last.received));
    history.sent.push(rate(now.sent, last.sent));
    history.dropped.push(rate(now.dropped, last.dropped));
    while (history.t.length > 0 && history.t[0]! < (at - KEEP_MS) / 1000) for (const k of Object.keys(history) as (keyof History)[]) history[k].shift();
  }
  last = now;
}
