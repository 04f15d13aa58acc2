/**
 * GET /metrics: Prometheus' text format. The nodes' part comes from the shared scrape
 * cache (one RPC per node per interval, whoever scrapes); the gateway's own registry is
 * rendered after it, so its RPC counters include the round this scrape caused. A reader
 * that accepts an older answer (`Cache-Control: max-age`, as the dashboard's charts send)
 * gets the whole text of the interval, the gateway's part included, rendered once for all.
 */
import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { acceptedAgeMs, SharedCache } from '../shared-cache.js';
import { exposition } from './exposition.js';
import type { ClusterScrape } from './scrape.js';

export function metricsHandler(scrapes: SharedCache<ClusterScrape>, own: Registry, cacheMs: number): RequestHandler {
  const render = async (): Promise<string> => {
    const nodes = await exposition(await scrapes.get());
    return nodes + (await own.metrics());
  };
  const whole = new SharedCache(render, cacheMs);
  return (req, res, next) => {
    const maxAge = acceptedAgeMs(req.get('cache-control'));
    (maxAge > 0 ? whole.get(maxAge) : render()).then((text) => {
      res.status(200).set('content-type', own.contentType).send(text);
    }, next);
  };
}
