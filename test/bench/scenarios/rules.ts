/**
 * The rule engine's cost on the publish path (Starling only): the QoS 0 fan-in (10→10 on
 * one node) measured without rules and with 10 rules on `bench/#`, alternating. Every
 * rule's FROM matches every message; half of them pass their WHERE and republish to a
 * topic nobody subscribes to, half do not. The rules are created through a gateway (the
 * node is a one-node cluster, so they travel as cluster config as in production). The
 * headline is the ratio of the delivered rates, with / without.
 */
import http from 'node:http';
import { HOST, startGateway, type RunningBroker } from '../brokers.js';
import { sleep } from '../procs.js';
import { measure, range } from './throughput.js';
import type { Scenario, ScenarioContext, ScenarioResult } from './types.js';

const RULES = 10;
const ROUNDS = 2;
const SHAPE = { pubTopics: range(10, (i) => `bench/${i}`), subTopics: range(10, (i) => `bench/${i}`), qos: 0 as const };
const AUTH = `Basic ${Buffer.from('admin:public').toString('base64')}`;

/** One API call to the gateway; the parsed JSON answer. */
export function call(port: number, method: string, path: string, body?: unknown): Promise<{ code: number; data?: any; message?: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ host: HOST, port, method, path: `/api/v4${path}`, headers: { authorization: AUTH, 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString()));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.once('error', reject);
    req.end(payload);
  });
}

/** The i-th rule: even ones pass (QoS 0 traffic) and republish, odd ones are filtered out by WHERE. */
const ruleBody = (i: number) => ({
  rawsql: `SELECT payload, clientid, topic, qos FROM "bench/#" WHERE ${i % 2 === 0 ? 'qos = 0' : 'qos = 1'} and topic =~ 'bench/+'`,
  actions: [{ name: 'republish', params: { target_topic: `bench-rules/${i}/\${clientid}`, payload_tmpl: '${payload}' } }],
  description: `bench rule ${i}`,
});

async function createRules(port: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < RULES; i++) {
    const r = await call(port, 'POST', '/rules', ruleBody(i));
    if (r.code !== 0) throw new Error(`creating a rule: ${r.code} ${r.message}`);
    ids.push(r.data.id);
  }
  return ids;
}

/** The rules' matched counts and their actions' successes, summed. */
async function counts(port: number, ids: string[]): Promise<{ matched: number; success: number; failed: number }> {
  const out = { matched: 0, success: 0, failed: 0 };
  for (const id of ids) {
    const r = await call(port, 'GET', `/rules/${encodeURIComponent(id)}`);
    for (const m of r.data.metrics) out.matched += m.matched;
    for (const a of r.data.actions) for (const m of a.metrics) ((out.success += m.success), (out.failed += m.failed));
  }
  return out;
}

/** A gateway in front of the scenario's cluster, once it answers with the node's actions. */
export async function openGateway(ctx: ScenarioContext): Promise<RunningBroker> {
  if (!ctx.clusterEnv) throw new Error('a rules scenario needs a cluster (for its gateway)');
  const gateway = await startGateway(ctx.clusterEnv);
  // the gateway answers once it sees the node
  for (const t = Date.now(); ; await sleep(100)) {
    const r = await call(gateway.port, 'GET', '/actions').catch(() => undefined);
    if (r?.code === 0) return gateway;
    if (Date.now() - t > 10000) {
      await gateway.stop();
      throw new Error(`gateway not answering /actions after 10 s: ${JSON.stringify(r)}`);
    }
  }
}

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  let gateway: RunningBroker | undefined;
  try {
    gateway = await openGateway(ctx);
    const port = gateway.port;
    const without: ScenarioResult[] = [];
    const withRules: ScenarioResult[] = [];
    const warnings: string[] = [];
    const details: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      without.push(await measure(ctx, SHAPE));
      ctx.log(`without rules: ${Math.round(without.at(-1)!.metrics.rate!)} msg/s`);
      const ids = await createRules(port);
      // the node loads cluster config within a second
      await sleep(1000);
      withRules.push(await measure(ctx, SHAPE));
      const c = await counts(port, ids);
      ctx.log(`with ${RULES} rules: ${Math.round(withRules.at(-1)!.metrics.rate!)} msg/s (matched ${c.matched}, republished ${c.success}, failed ${c.failed})`);
      details.push(`round ${round + 1}: rules matched ${c.matched} times, ${c.success} republishes, ${c.failed} failures`);
      if (c.matched === 0 || c.success === 0) warnings.push(`round ${round + 1}: the rules did not run (matched ${c.matched}, republished ${c.success})`);
      if (c.failed > 0) warnings.push(`round ${round + 1}: ${c.failed} actions failed`);
      for (const id of ids) await call(port, 'DELETE', `/rules/${encodeURIComponent(id)}`);
      await sleep(1000);
    }
    const mean = (rs: ScenarioResult[]) => rs.reduce((a, r) => a + r.metrics.rate!, 0) / rs.length;
    const rateWithout = mean(without);
    const rateWith = mean(withRules);
    details.unshift(`delivered msg/s without rules: ${without.map((r) => Math.round(r.metrics.rate!)).join(', ')}; with ${RULES} rules: ${withRules.map((r) => Math.round(r.metrics.rate!)).join(', ')}`);
    const last = withRules.at(-1)!;
    for (const r of [...without, ...withRules]) warnings.push(...(r.warnings ?? []));
    return {
      metrics: { ratio: rateWith / rateWithout, rateWithout, rateWith },
      brokerCpu: last.brokerCpu,
      procCpu: last.procCpu,
      genCpu: last.genCpu,
      warnings: [...new Set(warnings)],
      details,
    };
  } finally {
    await gateway?.stop();
  }
}

export const rulesQos0: Scenario = {
  id: 'rules-qos0',
  title: `QoS 0 fan-in with ${RULES} rules`,
  nodes: 1,
  cluster: true,
  brokers: ['starling'],
  calibration: 'relay',
  metrics: [
    { key: 'ratio', label: 'with/without rules', unit: 'x', better: 'higher', digits: 3 },
    { key: 'rateWithout', label: 'delivered, no rules', unit: 'msg/s', better: 'higher' },
    { key: 'rateWith', label: `delivered, ${RULES} rules`, unit: 'msg/s', better: 'higher' },
  ],
  budgetMs: 240000,
  note: `Rules (rules-qos0): the QoS 0 fan-in on a one-node cluster measured ${ROUNDS} times without and ${ROUNDS} times with ${RULES} rules on "bench/#" (each SELECT ... WHERE matches every message; half pass and republish to an unsubscribed topic), alternating; the rules are created and deleted through a gateway between runs.`,
  run,
};
