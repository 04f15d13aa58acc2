/**
 * The one rule that turns an EMQX metric or stat name into a Prometheus metric name
 * (README, "Prometheus"): lowercase, every character outside [a-z0-9_] (the dots, a dash)
 * becomes `_`, the prefix `starling_` (`starling_cluster_` for a cluster total), and the
 * suffix `_total` for a counter. EMQX's metrics are counters, its stats gauges:
 *   messages.qos1.received (counter) → starling_messages_qos1_received_total
 *   connections.count (gauge)        → starling_connections_count
 *   connections.max (gauge, cluster) → starling_cluster_connections_max
 */
export type MetricKind = 'counter' | 'gauge';

/** A per-node series (label `node`), or the sum over the nodes that answered (no label). */
export type MetricScope = 'node' | 'cluster';

export function prometheusName(emqxName: string, kind: MetricKind, scope: MetricScope = 'node'): string {
  const base = emqxName.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return `${scope === 'cluster' ? 'starling_cluster_' : 'starling_'}${base}${kind === 'counter' ? '_total' : ''}`;
}
