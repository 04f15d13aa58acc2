/**
 * A scenario is a function from running broker endpoint(s) to metrics. The orchestrator
 * starts `nodes` fresh brokers of one kind for each scenario run, so scenarios do not
 * inherit each other's queues or heap; a cluster scenario sets nodes: 2.
 */
import type { RunningBroker, StartOptions } from '../brokers.js';

export interface BenchOptions {
  warmupMs: number;
  durationMs: number;
  payloadSize: number;
  /** Unacked QoS 1 PUBLISHes each publisher keeps in flight. */
  qos1Window: number;
  /** Throughput scenarios: publishers and subscribers in 1 shared or 2 separate processes. */
  genProcs: 1 | 2;
  idleConns: number;
  idleConcurrency: number;
  /** Generator processes sharing the idle connections (and the concurrency). */
  idleProcs: number;
  latencyRate: number;
  /** API scenario: idle MQTT clients spread over the nodes, and requests per latency sample set. */
  apiConns: number;
  apiSamples: number;
  /** Scale scenario: MQTT clients over its 6 nodes, and subscriptions (distinct filters) per client. */
  scaleClients: number;
  scaleSubs: number;
}

export interface ScenarioContext {
  brokers: RunningBroker[];
  /** Cluster scenarios: nats-server and redis-server (for their CPU); empty otherwise. */
  services: RunningBroker[];
  opts: BenchOptions;
  /** Cluster scenarios: NATS_URL and REDIS_URL (e.g. for a gateway the scenario starts). */
  clusterEnv?: Record<string, string>;
  log: (msg: string) => void;
}

export interface MetricSpec {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  digits?: number;
  /** Print a "starling/peer" ratio line for this metric. */
  ratio?: boolean;
}

export interface ScenarioResult {
  /** Values keyed by MetricSpec.key, plus any secondary values (kept in the JSON). */
  metrics: Record<string, number>;
  /** Broker CPU over the measured window, fraction of one core. */
  brokerCpu: number;
  /** Each generator process's CPU over the window, fraction of one core. */
  genCpu: Record<string, number>;
  /**
   * Cluster scenarios: CPU of each server-side process over the window (node1, node2,
   * nats, redis), fraction of one core; brokerCpu is then the nodes' sum.
   */
  procCpu?: Record<string, number>;
  warnings?: string[];
  /** Extra lines for the report (e.g. per-phase results with their CPU). */
  details?: string[];
}

export interface Scenario {
  id: string;
  title: string;
  nodes: number;
  /** Per-node start options (cluster: node name, NATS URL; API scenario: API port). */
  nodeOptions?: (index: number) => StartOptions;
  /** Brokers this scenario applies to (e.g. only 'starling' for a cluster); default all. */
  brokers?: readonly string[];
  /**
   * Starling cluster: a nats-server and a redis-server are started first and every node
   * gets NATS_URL, REDIS_URL and its own STARLING_NODE_NAME.
   */
  cluster?: boolean;
  /** Same-run scenario whose result this one is compared with (cross-node vs same-node). */
  baseline?: string;
  /** Metrics shown in the table, first one is the headline. */
  metrics: MetricSpec[];
  /**
   * How the generator's headroom is shown: 'relay' = the null relay's rate is the
   * generator's ceiling; 'cpu' = the relay is no cheaper than a broker here (accepting
   * connections), so the generator's CPU cost per operation is reported instead.
   */
  calibration: 'relay' | 'cpu';
  /** For calibration 'cpu': metric key holding generator CPU µs per operation. */
  genCostMetric?: string;
  /** Time limit of one run (default: warmup + duration + 60 s). */
  budgetMs?: number;
  /** Only run when named in --scenarios (too long for the default set). */
  optIn?: boolean;
  /** Note for the report when this scenario ran. */
  note?: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}
