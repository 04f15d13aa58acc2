/**
 * The gateway's own metrics, in a prom-client registry of its own (never the global one:
 * a standalone node runs a gateway in its process, tests run several): the HTTP requests
 * by endpoint name (EMQX's, from the resource tables; "unknown" for paths no table has)
 * and status, with their latency; the RPCs to the nodes by method and node, with their
 * latency and failures; and prom-client's default Node.js process metrics. GET /metrics
 * exports this registry beside the nodes' metrics (prometheus/).
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { RpcObserver } from './cluster-client.js';

/** Upper bounds of the request latency buckets, in seconds (Prometheus' default buckets). */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** RPCs are mostly well under a request's time: finer at the low end, up to the longest timeout. */
const RPC_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One endpoint and status: `buckets[i]` counts the requests that took at most LATENCY_BUCKETS[i] (cumulative, as Prometheus' `le`). */
export interface RequestSeries {
  endpoint: string;
  status: number;
  count: number;
  /** seconds */
  sum: number;
  buckets: number[];
}

/** HTTP requests by endpoint and status: a prom-client histogram, the one record of them. */
export class RequestMetrics {
  private readonly histogram: Histogram<'endpoint' | 'status'>;

  constructor(registry: Registry = new Registry()) {
    this.histogram = new Histogram({
      name: 'starling_gateway_http_request_duration_seconds',
      help: 'HTTP requests answered by this gateway, by endpoint name and status: latency from arrival to the last byte',
      labelNames: ['endpoint', 'status'],
      buckets: [...LATENCY_BUCKETS],
      registers: [registry],
    });
  }

  observe(endpoint: string, status: number, seconds: number): void {
    this.histogram.observe({ endpoint, status: String(status) }, seconds);
  }

  /** Every series read back from the histogram, by endpoint name then status. */
  async snapshot(): Promise<RequestSeries[]> {
    const series = new Map<string, RequestSeries>();
    for (const v of (await this.histogram.get()).values) {
      const le = (v.labels as { le?: string | number }).le;
      const endpoint = String(v.labels.endpoint);
      const status = Number(v.labels.status);
      const key = `${status} ${endpoint}`;
      let s = series.get(key);
      if (!s) series.set(key, (s = { endpoint, status, count: 0, sum: 0, buckets: LATENCY_BUCKETS.map(() => 0) }));
      if (v.metricName?.endsWith('_count')) s.count = v.value;
      else if (v.metricName?.endsWith('_sum')) s.sum = v.value;
      else if (le !== undefined && le !== '+Inf') s.buckets[LATENCY_BUCKETS.indexOf(Number(le))] = v.value;
    }
    return [...series.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : a.status - b.status));
  }
}

/** Everything the gateway measures of itself, and the registry that holds it. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new RequestMetrics(this.registry);
  private readonly rpcDuration = new Histogram({
    name: 'starling_gateway_rpc_duration_seconds',
    help: 'RPCs from this gateway to the nodes, by method and node (its _count is the number of calls, failed ones included)',
    labelNames: ['method', 'node'],
    buckets: [...RPC_BUCKETS],
    registers: [this.registry],
  });
  private readonly rpcErrors = new Counter({
    name: 'starling_gateway_rpc_errors_total',
    help: "RPCs from this gateway that failed (timeout, no responder, transport; a node's own refusal is an answer), by method and node",
    labelNames: ['method', 'node'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** For ClusterClient: hears every RPC. */
  readonly observeRpc: RpcObserver = (method, node, seconds, failed) => {
    this.rpcDuration.observe({ method, node }, seconds);
    if (failed) this.rpcErrors.inc({ method, node });
  };
}
