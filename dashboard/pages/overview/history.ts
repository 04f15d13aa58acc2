// The last hour of cluster-wide samples, kept in the browser (module state: it survives
// moving between pages, not a reload). Counters become per-second rates between samples.
import { prometheus } from '../../lib/api.js';

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

/** The cluster totals (`starling_cluster_*`, no labels) of a Prometheus text exposition. */
export function clusterTotals(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('starling_cluster_')) continue;
    // `name value [timestamp]`; a labelled series is not a total
    const [name, value] = line.split(' ');
    if (!name || name.includes('{')) continue;
    const v = Number(value);
    if (Number.isFinite(v)) out.set(name, v);
  }
  return out;
}

/**
 * One sample from GET /metrics' cluster totals (served from the gateway's scrape cache,
 * not one RPC round per open dashboard as /api/v4/metrics and /stats would be).
 */
export async function sample(): Promise<void> {
  const totals = clusterTotals(await prometheus({ maxAgeS: SAMPLE_MS / 1000 }));
  const v = (name: string): number => totals.get(`starling_cluster_${name}`) ?? 0;
  const at = Date.now();
  const now = { at, received: v('messages_received_total'), sent: v('messages_sent_total'), dropped: v('messages_dropped_total') };
  if (last) {
    const dt = Math.max(0.001, (at - last.at) / 1000);
    // a node restart resets its counters: never show a negative rate
    const rate = (a: number, b: number): number => Math.max(0, (a - b) / dt);
    history.t.push(at / 1000);
    history.connections.push(v('connections_count'));
    history.received.push(rate(now.received, last.received));
    history.sent.push(rate(now.sent, last.sent));
    history.dropped.push(rate(now.dropped, last.dropped));
    while (history.t.length > 0 && history.t[0]! < (at - KEEP_MS) / 1000) for (const k of Object.keys(history) as (keyof History)[]) history[k].shift();
  }
  last = now;
}
