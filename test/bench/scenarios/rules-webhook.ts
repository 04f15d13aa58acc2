/**
 * Rule-to-webhook delivery (Starling only): a one-node cluster with one rule
 * `SELECT * FROM "t/#"` and a data_to_webserver action over a web_hook resource pointing
 * at a counting HTTP server in a child process (webhook-delivery.ts's sink); one QoS 0
 * publisher. Headline: requests/s the server received; with the TCP connections it
 * accepted, which must stay within the resource's pool_size (connection reuse: a burst
 * never opens one connection per message) or the run fails.
 */
import mqtt from 'mqtt';
import { HOST, type RunningBroker } from '../brokers.js';
import { sleep } from '../procs.js';
import { forkCountingSink, type CountingSink } from '../webhook-delivery.js';
import { call, openGateway } from './rules.js';
import { assertAlive, loggedWarnings, serverCpu, serverCpuSample } from './servers.js';
import type { Scenario, ScenarioContext, ScenarioResult } from './types.js';

const POOL_SIZE = 8;
/** QoS 0 PUBLISHes written before waiting for the socket to take them */
const BATCH = 100;
const WINDOW = 2000;

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  let gateway: RunningBroker | undefined;
  let sink: CountingSink | undefined;
  let client: mqtt.MqttClient | undefined;
  try {
    gateway = await openGateway(ctx);
    sink = await forkCountingSink();
    const port = gateway.port;
    const res = await call(port, 'POST', '/resources', { type: 'web_hook', config: { url: `${sink.url}/hook`, pool_size: POOL_SIZE, method: 'POST' }, description: 'bench sink' });
    if (res.code !== 0) throw new Error(`creating the resource: ${res.code} ${res.message}`);
    const ruleBody = {
      rawsql: 'SELECT * FROM "t/#"',
      actions: [{ name: 'data_to_webserver', params: { $resource: res.data.id, path: '/${topic}', body: '{"clientid":"${clientid}","payload":${payload}}' } }],
      description: 'bench rule to web hook',
    };
    // the node has the resource within a second (the rule is refused until it does)
    let rule = await call(port, 'POST', '/rules', ruleBody);
    for (const t = Date.now(); rule.code !== 0 && Date.now() - t < 5000; rule = await call(port, 'POST', '/rules', ruleBody)) await sleep(200);
    if (rule.code !== 0) throw new Error(`creating the rule: ${rule.code} ${rule.message}`);
    // the node loads cluster config within a second
    await sleep(1000);
    client = await mqtt.connectAsync(`mqtt://${HOST}:${ctx.brokers[0]!.port}`, { clientId: 'bench-webhook-pub', reconnectPeriod: 0 });
    const pub = client;
    const payload = Buffer.from('{"n":1,"v":"bench"}');
    // closed loop: at most WINDOW messages on their way to the server (an open loop only
    // measures how long the node's queue of pending requests grows)
    let sent = 0;
    const publishFor = async (ms: number): Promise<number> => {
      let n = 0;
      for (const end = Date.now() + ms; Date.now() < end; sent += BATCH) {
        while (sent - sink!.received() > WINDOW && Date.now() < end) await sink!.refresh();
        for (let i = 1; i < BATCH; i++) pub.publish(`t/${n++ % 10}`, payload, { qos: 0 });
        await new Promise<void>((resolve) => pub.publish(`t/${n++ % 10}`, payload, { qos: 0 }, () => resolve()));
      }
      return n;
    };
    await publishFor(ctx.opts.warmupMs);
    // saturated from the warm-up on: the window counts what reached the server during it
    await sink.refresh();
    const startReceived = sink.received();
    const cpu0 = serverCpuSample(ctx);
    const t0 = Date.now();
    const published = await publishFor(ctx.opts.durationMs);
    await sink.refresh();
    // the publisher saturates the action: the rate is what reached the server within the window
    const delivered = sink.received() - startReceived;
    const seconds = (Date.now() - t0) / 1000;
    const cpu = serverCpu(ctx, cpu0, serverCpuSample(ctx), seconds);
    assertAlive(ctx);
    const connections = sink.connections();
    const got = await call(port, 'GET', `/rules/${encodeURIComponent(rule.data.id)}`);
    let success = 0;
    let failed = 0;
    for (const a of got.data.actions) for (const m of a.metrics) ((success += m.success), (failed += m.failed));
    if (connections > POOL_SIZE) throw new Error(`the HTTP server accepted ${connections} TCP connections, more than the resource's pool_size ${POOL_SIZE}`);
    const warnings = loggedWarnings(ctx);
    if (delivered === 0) warnings.push('nothing reached the HTTP server');
    if (failed > 0) warnings.push(`${failed} data_to_webserver actions failed`);
    return {
      metrics: { rate: delivered / seconds, published, delivered, connections, poolSize: POOL_SIZE, failed },
      ...cpu,
      genCpu: {},
      warnings,
      details: [`published ${published} QoS 0 messages in ${ctx.opts.durationMs / 1000} s, the HTTP server received ${delivered} meanwhile (${seconds.toFixed(1)} s) over ${connections} TCP connections (pool_size ${POOL_SIZE}); action success ${success}, failed ${failed} (warm-up included)`],
    };
  } finally {
    client?.end(true);
    await sink?.close();
    await gateway?.stop();
  }
}

export const rulesWebhook: Scenario = {
  id: 'rules-webhook',
  title: 'Rule to web hook (data_to_webserver)',
  nodes: 1,
  cluster: true,
  brokers: ['starling'],
  calibration: 'relay',
  metrics: [
    { key: 'rate', label: 'delivered to HTTP', unit: 'msg/s', better: 'higher' },
    { key: 'connections', label: 'TCP connections', unit: '', better: 'lower', digits: 0 },
  ],
  budgetMs: 120000,
  note: `Rules (rules-webhook): one rule SELECT * FROM "t/#" with a data_to_webserver action to a web_hook resource (pool_size ${POOL_SIZE}) pointing at an HTTP server in the bench process; one QoS 0 publisher; the run fails if the server saw more TCP connections than pool_size.`,
  run,
};
