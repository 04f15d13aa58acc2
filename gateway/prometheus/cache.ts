/**
 * A value fetched at most once per interval, shared by every reader: GET /metrics reads
 * the cluster's scrape through it (and a dashboard can poll the same `get()`), so ten
 * Prometheus servers scraping at once cost the cluster one round of RPCs per interval.
 * Readers arriving while a fetch runs wait for that fetch instead of starting another,
 * even with an interval of 0 (which only disables reuse after the fetch is answered).
 */
export class SharedCache<T> {
  private last: { at: number; value: T } | undefined;
  private inflight: Promise<T> | undefined;

  constructor(
    private readonly fetch: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached value while fresh (answered less than ttlMs ago), else the running or a new fetch. */
  get(): Promise<T> {
    if (this.last && this.now() - this.last.at < this.ttlMs) return Promise.resolve(this.last.value);
    this.inflight ??= this.fetch().then(
      (value) => {
        this.last = { at: this.now(), value };
        this.inflight = undefined;
        return value;
      },
      (err: unknown) => {
        this.inflight = undefined; // a failed fetch is not cached: the next reader retries
        throw err;
      },
    );
    return this.inflight;
  }
}
