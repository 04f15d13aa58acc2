/**
 * The gateway's own request metrics, in memory: per endpoint name (EMQX's, from the
 * resource tables; "unknown" for paths no table has) and HTTP status, the request count and
 * the latency's sum and histogram. GET /metrics will export them in Prometheus' text format;
 * the buckets are Prometheus' defaults so that export is a plain rendering.
 */

/** Upper bounds of the latency buckets, in seconds (Prometheus' default buckets). */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One endpoint and status: `buckets[i]` counts the requests that took at most LATENCY_BUCKETS[i] (cumulative, as Prometheus' `le`). */
export interface RequestSeries {
  endpoint: string;
  status: number;
  count: number;
  /** seconds */
  sum: number;
  buckets: number[];
}

export class RequestMetrics {
  private readonly series = new Map<string, RequestSeries>();

  observe(endpoint: string, status: number, seconds: number): void {
    const key = `${status} ${endpoint}`;
    let s = this.series.get(key);
    if (!s) {
      s = { endpoint, status, count: 0, sum: 0, buckets: LATENCY_BUCKETS.map(() => 0) };
      this.series.set(key, s);
    }
    s.count++;
    s.sum += seconds;
    // cumulative: every bucket at or above the latency counts it
    for (let i = LATENCY_BUCKETS.length - 1; i >= 0 && seconds <= LATENCY_BUCKETS[i]!; i--) s.buckets[i]!++;
  }

  /** A copy of every series, by endpoint name then status. */
  snapshot(): RequestSeries[] {
    return [...this.series.values()]
      .map((s) => ({ ...s, buckets: [...s.buckets] }))
      .sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : a.status - b.status));
  }
}
