/**
 * The rule engine's cost on the publish path (Starling only): the QoS 0 fan-in (10→10 on
 * one node) measured without rules and with 10 rules on `bench/#` in adjacent windows of
 * one running load (ABBA pairs: the same background load on both sides far more often than
 * separate runs see). Every rule's FROM matches every message; half of them pass their
 * WHERE and republish to a topic nobody subscribes to, half do not. The rules are created
 * through a gateway (the node is a one-node cluster, so they travel as cluster config as in
 * production). The headline is the median pair's ratio of the delivered rates, with /
 * without; beside it the same of the node's CPU per message.
 */
import http from 'node:http';
import { HOST, startGateway, type RunningBroker } from '../brokers.js';
import { sleep } from '../procs.js';
import { alternating, range } from './throughput.js';
import type { Scenario, ScenarioContext, ScenarioResult } from './types.js';

const RULES = 10;
// pairs of adjacent windows without and with the rules, on one running load (ABBA order)
const PAIRS = 3;
// after the rules are created or deleted: the node loads cluster config within a second
const SETTLE_MS = 1500;
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

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  let gateway: RunningBroker | undefined;
  try {
    gateway = await openGateway(ctx);
    const port = gateway.port;
    const warnings: string[] = [];
    const details: string[] = [];
    let ids: string[] = [];
    // rules created for each window with them and deleted after it, their counts checked
    const toggle = async (on: boolean): Promise<void> => {
      if (on && ids.length === 0) ids = await createRules(port);
      else if (!on && ids.length > 0) {
        const c = await counts(port, ids);
        // (ABBA: a set of rules may stay for two adjacent windows)
        const n = `rules set ${details.length + 1}`;
        details.push(`${n}: matched ${c.matched} times, ${c.success} republishes, ${c.failed} failures`);
        if (c.matched === 0 || c.success === 0) warnings.push(`${n}: the rules did not run (matched ${c.matched}, republished ${c.success})`);
        if (c.failed > 0) warnings.push(`${n}: ${c.failed} actions failed`);
        for (const id of ids) await call(port, 'DELETE', `/rules/${encodeURIComponent(id)}`);
        ids = [];
      }
    };
    const ab = await alternating(ctx, SHAPE, { pairs: PAIRS, windowMs: ctx.opts.durationMs, settleMs: SETTLE_MS, toggle });
    // the node's CPU per delivered message: on a shared machine the node may not get a whole
    // core in every window, and the rate ratio then reads other processes' load too; the CPU
    // ratio is what it would be with a core to itself in both
    const us = (cpu: number[], rates: number[]) => cpu.map((c, i) => (c / rates[i]!) * 1e6);
    const usWithout = us(ab.offCpu, ab.off);
    const usWith = us(ab.onCpu, ab.on);
    const ratio = median(ab.ratios);
    const cpuRatio = median(usWithout.map((u, i) => u / usWith[i]!));
    const round = (xs: number[]) => xs.map((x) => Math.round(x)).join(', ');
    const fixed = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(', ');
    ctx.log(`with/without ${RULES} rules, per pair: ${fixed(ab.ratios)}; median ${ratio.toFixed(3)}; CPU per message without/with: median ${cpuRatio.toFixed(3)}`);
    details.unshift(
      `delivered msg/s in ${PAIRS} pairs of adjacent windows, without rules: ${round(ab.off)}; with ${RULES} rules: ${round(ab.on)}; ratio per pair ${fixed(ab.ratios)}, median ${ratio.toFixed(3)}`,
      `node CPU per delivered message, µs: without rules ${fixed(usWithout)}; with ${RULES} rules ${fixed(usWith)}`,
      `published msg/s: without rules ${round(ab.offPub)}; with ${RULES} rules ${round(ab.onPub)}; node CPU per published message, µs: without rules ${fixed(us(ab.offCpu, ab.offPub))}; with ${RULES} rules ${fixed(us(ab.onCpu, ab.onPub))}`,
    );
    return {
      metrics: { ratio, rateWithout: median(ab.off), rateWith: median(ab.on), cpuRatio, usWithout: median(usWithout), usWith: median(usWith) },
      brokerCpu: ab.brokerCpu,
      procCpu: ab.procCpu,
      genCpu: ab.genCpu,
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
    { key: 'cpuRatio', label: 'CPU/msg without/with', unit: 'x', better: 'higher', digits: 3 },
    { key: 'usWithout', label: 'node CPU/msg, no rules', unit: 'µs', better: 'lower', digits: 3 },
    { key: 'usWith', label: `node CPU/msg, ${RULES} rules`, unit: 'µs', better: 'lower', digits: 3 },
  ],
  budgetMs: 240000,
  note: `Rules (rules-qos0): the QoS 0 fan-in on a one-node cluster, one running load measured in ${PAIRS} pairs of adjacent windows (ABBA order) without and with ${RULES} rules on "bench/#" (each SELECT ... WHERE matches every message; half pass and republish to an unsubscribed topic), created and deleted through a gateway ${SETTLE_MS / 1000} s before each window; the ratio is the median pair's. The CPU ratio is the node's CPU per delivered message without rules over with them, the median pair's (what the rate ratio is when the node has a core to itself in every window).`,
  run,
};
