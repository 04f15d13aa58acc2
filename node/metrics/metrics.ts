import { METRIC_NAMES, V3_METRIC_NAMES, type MetricName, type V3MetricName } from '../../shared/emqx-names.js';

/** the 4.x counters, then EMQX 3.x's own (V3_METRIC_NAMES) */
const ALL_NAMES: readonly (MetricName | V3MetricName)[] = [...METRIC_NAMES, ...V3_METRIC_NAMES];
const INDEX = new Map<string, number>(ALL_NAMES.map((n, i) => [n, i]));

/** Index of a metric in Metrics.values; hot paths resolve it once at module load. */
export function metricIndex(name: MetricName | V3MetricName): number {
  return INDEX.get(name)!;
}

/**
 * The node's EMQX counters. A typed array indexed by metric, because the publish path bumps
 * several counters per message and named lookups on a 78-key object cost measurably more.
 */
export class Metrics {
  readonly values = new Float64Array(ALL_NAMES.length);

  inc(i: number, n = 1): void {
    this.values[i]! += n;
  }

  get(name: MetricName): number {
    return this.values[metricIndex(name)]!;
  }

  toObject(): Record<MetricName, number> {
    const out = {} as Record<MetricName, number>;
    METRIC_NAMES.forEach((n, i) => (out[n] = this.values[i]!));
    return out;
  }

  /** The counters with EMQX 3.x's own besides (GET /api/v3/metrics). */
  v3Object(): Record<MetricName | V3MetricName, number> {
    const out = this.toObject() as Record<MetricName | V3MetricName, number>;
    for (const n of V3_METRIC_NAMES) out[n] = this.values[INDEX.get(n)!]!;
    return out;
  }
}
