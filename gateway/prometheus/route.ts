/**
 * GET /metrics: Prometheus' text format. The nodes' part comes from the shared scrape
 * cache (one RPC per node per interval, whoever scrapes); the gateway's own registry is
 * rendered after it, so its RPC counters include the round this scrape caused.
 */
import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import type { SharedCache } from './cache.js';
import { exposition } from './exposition.js';
import type { ClusterScrape } from './scrape.js';

export function metricsHandler(scrapes: SharedCache<ClusterScrape>, own: Registry): RequestHandler {
  return (_req, res, next) => {
    scrapes
      .get()
      .then(exposition)
      .then(async (nodes) => {
        const gateway = await own.metrics();
        res.status(200).set('content-type', own.contentType).send(nodes + gateway);
      })
      .catch(next);
  };
}
