/**
 * A scrape round as Prometheus text: the nodes' EMQX metrics (counters) and stats
 * (gauges) with a `node` label, their cluster totals (`starling_cluster_*`, no label: the
 * sum over the nodes that answered), and `starling_node_up` per node. Rendered once per
 * round into a registry of its own, so every scrape that shares the round shares the text.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { METRIC_NAMES, STAT_NAMES } from '../../shared/emqx-names.js';
import { prometheusName, type MetricKind } from './names.js';
import type { ClusterScrape, NodeScrape } from './scrape.js';

/** Every stat is reported as `<name>.count` and `<name>.max` (shared/emqx-names.ts). */
const STAT_KEYS: readonly string[] = STAT_NAMES.flatMap((n) => [`${n}.count`, `${n}.max`]);

const rendered = new WeakMap<ClusterScrape, Promise<string>>();

/** The text of a round (computed on its first use). */
export function exposition(s: ClusterScrape): Promise<string> {
  let text = rendered.get(s);
  if (!text) {
    text = render(s);
    rendered.set(s, text);
  }
  return text;
}

async function render(s: ClusterScrape): Promise<string> {
  const registry = new Registry();
  const up = new Gauge({ name: 'starling_node_up', help: 'whether the node answered this scrape (1) or not (0: no answer in time, or dead and not purged yet)', labelNames: ['node'], registers: [registry] });
  for (const n of s.nodes) up.set({ node: n.node }, n.up ? 1 : 0);
  const answered = s.nodes.filter((n): n is Required<NodeScrape> => n.up && n.reply !== undefined);
  family(registry, 'counter', 'metric', names(METRIC_NAMES, answered, 'metrics'), answered, 'metrics');
  family(registry, 'gauge', 'stat', names(STAT_KEYS, answered, 'stats'), answered, 'stats');
  return registry.metrics();
}

/** The names declared, then any other a node reports (a node newer than this gateway). */
function names(declared: readonly string[], nodes: Required<NodeScrape>[], part: 'metrics' | 'stats'): string[] {
  const all = new Set(declared);
  for (const n of nodes) for (const k of Object.keys(n.reply[part])) all.add(k);
  return [...all];
}

/**
 * One metric per EMQX name with its per-node series, and its cluster total; a name no
 * node reported a value for is left out (a total of 0 would read as a counter reset).
 */
function family(registry: Registry, kind: MetricKind, what: string, emqxNames: string[], nodes: Required<NodeScrape>[], part: 'metrics' | 'stats'): void {
  const Metric = kind === 'counter' ? Counter : Gauge;
  for (const emqx of emqxNames) {
    const name = prometheusName(emqx, kind);
    const totalName = prometheusName(emqx, kind, 'cluster');
    // a name the rule maps onto one already there (starling_node_up, another EMQX name): the first wins
    if (registry.getSingleMetric(name) || registry.getSingleMetric(totalName)) continue;
    const values: [string, number][] = [];
    for (const n of nodes) {
      const v = (n.reply[part] as Record<string, number>)[emqx];
      // a counter only takes what it can count; a node's garbage must not fail the scrape
      if (typeof v === 'number' && Number.isFinite(v) && (kind === 'gauge' || v >= 0)) values.push([n.node, v]);
    }
    if (values.length === 0) continue;
    const perNode = new Metric({ name, help: `EMQX ${what} ${emqx}, per node`, labelNames: ['node'], registers: [registry] });
    const total = new Metric({ name: totalName, help: `EMQX ${what} ${emqx}, summed over the nodes that answered`, registers: [registry] });
    for (const [node, v] of values) set(perNode, { node }, v);
    set(total, {}, values.reduce((a, [, v]) => a + v, 0));
  }
}

function set(m: Counter | Gauge, labels: Record<string, string>, v: number): void {
  if (m instanceof Counter) m.inc(labels, v);
  else m.set(labels, v);
}
