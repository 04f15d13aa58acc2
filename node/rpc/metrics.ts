import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';

/** The metrics resource on this node (GET /api/v4/metrics): the EMQX counters; and a scrape's counters and stats at once (GET /metrics). */
export function metricsHandlers(b: Broker): Pick<RpcHandlers, 'metrics.get' | 'metrics.scrape'> {
  return {
    'metrics.get': ({ v3 }) => (v3 ? b.metrics.v3Object() : b.metrics.toObject()),
    'metrics.scrape': () => ({ metrics: b.metrics.toObject(), stats: b.stats.toObject() }),
  };
}
