/**
 * Answers shared by every reader for a short interval. GET /metrics reads the cluster's
 * scrape through a SharedCache, so ten Prometheus servers scraping at once cost the
 * cluster one round of RPCs per interval; the API's polled GETs go through a KeyedCache
 * (one SharedCache per URL), so fifty open dashboards cost one fan-out per interval.
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

  /**
   * The cached value while fresh (answered less than ttlMs ago, and less than `maxAgeMs`
   * when the reader asks for younger), else the running fetch, else a new one (`fetch`,
   * the constructor's unless given).
   */
  get(maxAgeMs: number = this.ttlMs, fetch: () => Promise<T> = this.fetch): Promise<T> {
    if (this.last && this.now() - this.last.at < Math.min(maxAgeMs, this.ttlMs)) return Promise.resolve(this.last.value);
    this.inflight ??= fetch().then(
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

  /** Neither fresh nor fetching: holding it any longer serves nobody. */
  idle(): boolean {
    return this.inflight === undefined && (this.last === undefined || this.now() - this.last.at >= this.ttlMs);
  }
}

/**
 * One SharedCache per key (a request's URL), created on first use. At most `maxKeys`
 * are held, so a reader inventing URLs cannot grow it without bound: idle ones are
 * dropped at most once per interval, and past the bound a key is fetched uncached.
 */
export class KeyedCache<T> {
  private readonly entries = new Map<string, SharedCache<T>>();
  private sweptAt = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys = 256,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string, maxAgeMs: number, fetch: () => Promise<T>): Promise<T> {
    const t = this.now();
    if (t - this.sweptAt >= this.ttlMs) {
      this.sweptAt = t;
      for (const [k, c] of this.entries) if (c.idle()) this.entries.delete(k);
    }
    let cache = this.entries.get(key);
    if (!cache) {
      if (this.entries.size >= this.maxKeys) return fetch();
      cache = new SharedCache(fetch, this.ttlMs, this.now);
      this.entries.set(key, cache);
    }
    return cache.get(maxAgeMs, fetch);
  }

  /** Keys held (fresh, fetching, or idle until the next sweep). */
  get size(): number {
    return this.entries.size;
  }
}

/**
 * How old an answer the request accepts, in ms, from its `Cache-Control: max-age=N`
 * (seconds, RFC 9111): 0 when absent, `no-cache`, `no-store` or malformed. Only a reader
 * that says so gets a cached answer; any other request is answered fresh.
 */
export function acceptedAgeMs(cacheControl: string | undefined): number {
  if (!cacheControl) return 0;
  let age = 0;
  for (const directive of cacheControl.toLowerCase().split(',')) {
    const d = directive.trim();
    if (d === 'no-cache' || d === 'no-store') return 0;
    const m = /^max-age=(\d{1,9})$/.exec(d);
    if (m) age = Number(m[1]) * 1000;
  }
  return age;
}
