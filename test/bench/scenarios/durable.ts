/**
 * Durable sessions (README "Durable sessions"), Starling only, on a three-node cluster
 * whose NATS server runs JetStream: node 1 and node 3 with durable sessions on, node 2 off.
 * - QoS 1 fan-in 10→10 to persistent subscribers on node 1 (every copy stored before its
 *   PUBACK) and on node 2 (in memory only): the headline is the ratio on/off (target ≥ 0.5).
 * - Offline-queue drain: 1,000 persistent sessions on node 1 with 100 queued QoS 1 messages
 *   each reconnect; messages/s until every one has its 100.
 * - Failover: a persistent session on node 1 with 100 queued messages; node 1 is killed
 *   (SIGKILL) and the client connects to node 3 at once: the time to CONNACK (session
 *   present) and to its last message (target < 2 s). Node 1 stays dead: the last phase.
 */
import mqtt from 'mqtt';
import { measure, range } from './throughput.js';
import type { Scenario, ScenarioContext } from './types.js';

const SESSIONS = 1000;
const QUEUED = 100;
const connectOpts = (port: number, clientId: string): mqtt.IClientOptions => ({ host: '127.0.0.1', port, clientId, clean: false, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000 });

async function connect(port: number, clientId: string, onMessage?: (c: mqtt.MqttClient) => void): Promise<mqtt.MqttClient> {
  const c = mqtt.connect(connectOpts(port, clientId));
  onMessage?.(c);
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

const end = (c: mqtt.MqttClient): Promise<void> => new Promise((r) => c.end(false, {}, () => r()));

/** Connects in slices, so 1,000 CONNECTs do not all wait at once. */
async function inSlices<T>(n: number, slice: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += slice) out.push(...(await Promise.all(range(Math.min(slice, n - i), (k) => String(i + k)).map((k) => f(Number(k))))));
  return out;
}

/** Publishes `count` QoS 1 messages to `topic`, 50 in flight. */
async function publishMany(pub: mqtt.MqttClient, topic: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 50) await Promise.all(range(Math.min(50, count - i), (k) => String(i + Number(k))).map((k) => pub.publishAsync(topic, `m${k}`, { qos: 1 })));
}

async function drain(ctx: ScenarioContext, port: number): Promise<{ drainRate: number; drainMs: number }> {
  const ids = range(SESSIONS, (i) => `bench-drain-${i}`);
  const subs = await inSlices(SESSIONS, 100, (i) => connect(port, ids[i]!));
  await Promise.all(subs.map((c) => c.subscribeAsync('bench/drain', { qos: 1 })));
  await Promise.all(subs.map(end));
  const pub = await connect(port, 'bench-drain-pub');
  // each message is a copy queued (and stored) for every one of the 1,000 sessions
  await publishMany(pub, 'bench/drain', QUEUED);
  await end(pub);
  ctx.log(`drain: ${SESSIONS} sessions × ${QUEUED} queued; reconnecting`);
  let got = 0;
  const total = SESSIONS * QUEUED;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const t0 = performance.now();
  const back = await inSlices(SESSIONS, 100, (i) =>
    connect(port, ids[i]!, (c) =>
      c.on('message', () => {
        if (++got === total) done();
      }),
    ),
  );
  await Promise.race([all, new Promise((r) => setTimeout(r, 60_000))]);
  const ms = performance.now() - t0;
  if (got < total) ctx.log(`drain: only ${got} of ${total} delivered`);
  await Promise.all(back.map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))));
  return { drainRate: (got / ms) * 1000, drainMs: ms };
}

async function failover(ctx: ScenarioContext, dead: ScenarioContext['brokers'][0], port: number): Promise<{ connackMs: number; resumeMs: number; resumed: number }> {
  const c = await connect(dead.port, 'bench-failover');
  await c.subscribeAsync('bench/failover', { qos: 1 });
  await end(c);
  const pub = await connect(port, 'bench-failover-pub');
  // the route reaches node 3 first: wait until a publish is taken for the session
  await new Promise((r) => setTimeout(r, 500));
  await publishMany(pub, 'bench/failover', QUEUED);
  await end(pub);
  await new Promise((r) => setTimeout(r, 200));
  process.kill(dead.pid, 'SIGKILL');
  // from its death: a request that reached it while it was dying would wait for its timeout
  while (dead.exited() === null) await new Promise((r) => setTimeout(r, 1));
  const t0 = performance.now();
  let got = 0;
  let last = 0;
  const again = await connect(port, 'bench-failover', (cl) =>
    cl.on('message', () => {
      got++;
      last = performance.now();
    }),
  );
  const connackMs = performance.now() - t0;
  const until = performance.now() + 10_000;
  while (got < QUEUED && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
  await end(again);
  if (got < QUEUED) ctx.log(`failover: ${got} of ${QUEUED} messages after the resume`);
  return { connackMs, resumeMs: (got > 0 ? last : performance.now()) - t0, resumed: got };
}

export const durableSessions: Scenario = {
  id: 'durable',
  title: 'Durable sessions: QoS 1 fan-in on/off, queue drain, failover',
  nodes: 3,
  cluster: true,
  brokers: ['starling'],
  calibration: 'relay',
  nodeOptions: (i) => ({ env: { STARLING_DURABLE_SESSIONS: i === 1 ? 'off' : 'on' } }),
  budgetMs: 240_000,
  metrics: [
    { key: 'ratio', label: 'QoS 1 fan-in durable on/off', unit: '×', better: 'higher', digits: 2 },
    { key: 'rateOn', label: 'QoS 1 to persistent, durable on', unit: 'msg/s', better: 'higher' },
    { key: 'rateOff', label: 'QoS 1 to persistent, durable off', unit: 'msg/s', better: 'higher' },
    { key: 'drainRate', label: `drain of ${SESSIONS}×${QUEUED} queued`, unit: 'msg/s', better: 'higher' },
    { key: 'resumeMs', label: 'node death to last queued message', unit: 'ms', better: 'lower' },
    { key: 'connackMs', label: 'node death to CONNACK elsewhere', unit: 'ms', better: 'lower' },
  ],
  async run(ctx) {
    const [n1, n2, n3] = ctx.brokers as [ScenarioContext['brokers'][0], ScenarioContext['brokers'][0], ScenarioContext['brokers'][0]];
    // on first: the generator warms up on it, so that warm-up favours the baseline, not the ratio
    const on = await measure(ctx, { pubTopics: range(10, (i) => `bench/don/${i}`), subTopics: range(10, (i) => `bench/don/${i}`), qos: 1, pubNode: 0, subNode: 0, persistent: true, prefix: 'bench-on-' });
    const off = await measure(ctx, { pubTopics: range(10, (i) => `bench/doff/${i}`), subTopics: range(10, (i) => `bench/doff/${i}`), qos: 1, pubNode: 1, subNode: 1, persistent: true, prefix: 'bench-off-' });
    const rateOn = on.metrics.rate!;
    const rateOff = off.metrics.rate!;
    const d = await drain(ctx, n1.port);
    const f = await failover(ctx, n1, n3.port);
    void n2;
    return {
      metrics: { ratio: rateOn / rateOff, rateOn, rateOff, ...d, ...f },
      brokerCpu: on.brokerCpu,
      procCpu: on.procCpu,
      genCpu: on.genCpu,
      warnings: [...(on.warnings ?? []), ...(off.warnings ?? [])],
      details: [`durable on: node1 CPU ${JSON.stringify(on.procCpu)}; off: node2 CPU ${JSON.stringify(off.procCpu)}`, `failover: ${f.resumed}/${QUEUED} messages resumed`],
    };
  },
};
