/**
 * GETs that accept a short-cached answer: a request with `Cache-Control: max-age=N` (as the
 * dashboard's timer polls send) is answered from one fan-out per URL per interval
 * (STARLING_METRICS_CACHE_MS, the interval of GET /metrics' scrape cache), however many
 * readers ask, and readers arriving while it runs wait for it. Every other request is
 * answered fresh, so a script reading after its own write sees it.
 */
import type { Request, Response } from 'express';
import { acceptedAgeMs, KeyedCache } from '../shared-cache.js';
import type { ApiReply, Endpoint } from './endpoint.js';
import { ApiError, asApiError } from './errors.js';

/** An answer as shared: the reply, or the API's error (a 101 naming a node that did not answer is an answer too). */
interface Outcome {
  at: number;
  reply?: ApiReply;
  error?: ApiError;
}

export class PolledAnswers {
  private readonly cache: KeyedCache<Outcome>;

  constructor(cacheMs: number) {
    this.cache = new KeyedCache(cacheMs);
  }

  /** `run`'s answer, or one shared with other readers of the URL when the request accepts it (then with an `Age` header). */
  async answer(e: Endpoint, req: Request, res: Response, run: () => Promise<ApiReply>): Promise<ApiReply> {
    const maxAge = e.method === 'GET' ? acceptedAgeMs(req.get('cache-control')) : 0;
    if (maxAge <= 0) return run();
    const o = await this.cache.get(req.originalUrl, maxAge, () =>
      run().then(
        (reply): Outcome => ({ at: Date.now(), reply }),
        (err: unknown): Outcome => {
          const error = asApiError(err);
          if (!error) throw err; // a bug is not shared: the next reader tries again
          return { at: Date.now(), error };
        },
      ),
    );
    res.set('age', String(Math.floor((Date.now() - o.at) / 1000)));
    if (o.error) throw o.error;
    return o.reply!;
  }
}
