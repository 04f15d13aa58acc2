import { METRIC_NAMES, type MetricName } from '../../shared/emqx-names.js';

const INDEX = new Map<string, number>(METRIC_NAMES.map((n, i) => [n, i]));

/** Index of a metric in Metrics.values; hot paths resolve it once at module load. */
export function metricIndex(name: MetricName): number {
  return INDEX.get(name)!;
}

/**
 * The node's EMQX counters. A typed array indexed by metric, because the publish path bumps
 * several counters per message and named lookups on a 78-key object cost measurably more.
 */
export class Metrics {
  readonly values = new Float64Array(METRIC_NAMES.length);

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
}
