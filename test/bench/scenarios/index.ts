/** Scenario registry, in run order. New scenarios (cluster, HTTP API) register here. */
import { idleConnections } from './idle.js';
import { latency } from './latency.js';
import { fanOut, qos0FanIn, qos1FanIn } from './throughput.js';
import type { Scenario } from './types.js';

export const SCENARIOS: readonly Scenario[] = [qos0FanIn, qos1FanIn, fanOut, idleConnections, latency];
export type { Scenario, ScenarioResult, ScenarioContext, BenchOptions, MetricSpec } from './types.js';
