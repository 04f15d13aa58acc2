/**
 * Cross-node scenarios (Starling only): nats-server + redis-server + 2 Starling nodes;
 * publishers on node 1, subscribers on node 2, so every message is forwarded over NATS.
 * The same shapes as the same-node scenarios, whose results of the same bench run are the
 * baseline (report.ts: "xnode/same-node" ratio and targets).
 */
import { LATENCY_METRICS, measureLatency } from './latency.js';
import { measure, range } from './throughput.js';
import type { Scenario } from './types.js';

const cluster = { nodes: 2, cluster: true, brokers: ['starling'], calibration: 'relay' } as const;
// Node indices: brokers[0] = node 1 (publishers), brokers[1] = node 2 (subscribers).
const PUB = 0;
const SUB = 1;

export const xnodeQos0: Scenario = {
  ...cluster,
  id: 'xnode-qos0',
  title: 'Cross-node QoS 0 10→10',
  baseline: 'qos0-fanin',
  metrics: [{ key: 'rate', label: 'delivered', unit: 'msg/s', better: 'higher', ratio: true }],
  run: (ctx) =>
    measure(ctx, { pubTopics: range(10, (i) => `bench/${i}`), subTopics: range(10, (i) => `bench/${i}`), qos: 0, pubNode: PUB, subNode: SUB }),
};

export const xnodeQos1: Scenario = {
  ...cluster,
  id: 'xnode-qos1',
  title: 'Cross-node QoS 1 10→10',
  baseline: 'qos1-fanin',
  metrics: [
    { key: 'rate', label: 'delivered+acked', unit: 'msg/s', better: 'higher', ratio: true },
    { key: 'ackRate', label: 'PUBACKed to pubs', unit: 'msg/s', better: 'higher' },
  ],
  run: (ctx) =>
    measure(ctx, { pubTopics: range(10, (i) => `bench/${i}`), subTopics: range(10, (i) => `bench/${i}`), qos: 1, pubNode: PUB, subNode: SUB }),
};

export const xnodeLatency: Scenario = {
  ...cluster,
  id: 'xnode-latency',
  title: 'Cross-node latency QoS 0 @1k msg/s',
  baseline: 'latency',
  metrics: LATENCY_METRICS,
  run: (ctx) => measureLatency(ctx, PUB, SUB),
};
