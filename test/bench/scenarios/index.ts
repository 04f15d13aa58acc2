/** Scenario registry, in run order. */
import { apiScenario } from './api.js';
import { dashboard } from './dashboard.js';
import { durableSessions } from './durable.js';
import { xnodeLatency, xnodeQos0, xnodeQos1 } from './cluster.js';
import { idleConnections } from './idle.js';
import { latency } from './latency.js';
import { rulesQos0 } from './rules.js';
import { rulesWebhook } from './rules-webhook.js';
import { scale } from './scale.js';
import { xnodeScrape } from './scrape.js';
import { fanOut, qos0FanIn, qos1FanIn } from './throughput.js';
import type { Scenario } from './types.js';

export const SCENARIOS: readonly Scenario[] = [qos0FanIn, qos1FanIn, fanOut, idleConnections, latency, xnodeQos0, xnodeQos1, xnodeLatency, xnodeScrape, rulesQos0, rulesWebhook, apiScenario, dashboard, durableSessions, scale];
export type { Scenario, ScenarioResult, ScenarioContext, BenchOptions, MetricSpec } from './types.js';
