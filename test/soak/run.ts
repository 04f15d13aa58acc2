/**
 * One soak run: a 3-node cluster and a gateway, the seeded population's traffic for the
 * duration while pollers read the API and /metrics, then the drain (every persistent
 * subscriber reconnects and takes what it is owed) and the end checks.
 */
import { prng } from '../support/prng.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { startGateway, type GatewayProcess } from '../support/gateway.js';
import { eventually, sleep } from '../support/wait.js';
import { clusterTotals, deliveryChecks, memoryCheck, metricChecks, nodeMetrics, redisLeaks, REDIS_NO_LEAKS, retainedCheck, willChecks, type Check } from './checks.js';
import { closeClient, openClient, subscribe } from './client.js';
import { Ledger } from './ledger.js';
import { DEFAULTS, type SoakOptions } from './options.js';
import { Pollers, rssBytes } from './pollers.js';
import { cleanSubscriber, idler, PersistentSubscriber, publisher, RETAINED_ROOT, retainer, sharedMember, Traffic, willClient, willWatcher } from './population.js';

export interface SoakReport {
  options: Omit<SoakOptions, 'log' | 'faults'>;
  ok: boolean;
  checks: Check[];
  /** counts for the summary */
  numbers: Record<string, number | string>;
}

/** How the population splits into roles, as shares of the clients. */
const ROLES = { persistent: 0.12, clean: 0.12, shared: 0.06, publishers: 0.15, wills: 0.1 } as const;
const SHARE_GROUP_SIZE = 5;
const RETAINED_TOPICS = 10;
/** how long the drain waits for a persistent subscriber's last owed message */
const DRAIN_TIMEOUT_MS = 30_000;
const DRAIN_QUIET_MS = 5_000;

export async function runSoak(opts: Partial<SoakOptions> = {}): Promise<SoakReport> {
  const o: SoakOptions = { ...DEFAULTS, ...opts };
  const log = o.log ?? (() => {});
  const cluster = await startCluster(['n1', 'n2', 'n3'], {
    STARLING_MAX_MQUEUE: String(o.maxMqueue),
    // the soak loads a shared machine: API answers may take longer than the tests' 1 s
    STARLING_RPC_TIMEOUT_MS: '5000',
    // and a node's heartbeat may come later than the tests' 600 ms TTL: it was then taken
    // for dead and lost what was published to it meanwhile (several times a run), which is
    // the stall fault's loss (cluster-stall.test.ts), not the traffic's; the default TTL
    STARLING_HEARTBEAT_TTL_MS: '3000',
    ...o.nodeEnv,
  });
  let gateway: GatewayProcess | undefined;
  try {
    gateway = await startGateway(cluster, { STARLING_RPC_TIMEOUT_MS: '5000' });
    return await soak(o, cluster, gateway.url, log);
  } finally {
    await gateway?.stop();
    await cluster.stop();
  }
}

const nodeNames = (c: TestCluster) => [...c.nodes.values()].map((n) => n.nodeName);

/** Each node's heap and external memory (what GET /api/v3/nodes reports as memory_used), bytes. */
async function heapUsed(c: TestCluster): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  await Promise.all(nodeNames(c).map(async (n) => {
    const row = await c.transport.request(n, 'nodes.get', { v3: true }, 5000).catch(() => undefined);
    if (row?.v3) out.set(n, row.v3.memory_used);
  }));
  return out;
}

const rssByNode = (c: TestCluster) => new Map([...c.nodes.values()].map((n) => [n.nodeName, rssBytes(n.proc.pid)]));

async function soak(o: SoakOptions, c: TestCluster, base: string, log: (l: string) => void): Promise<SoakReport> {
  const rand = prng(o.seed);
  const ledger = new Ledger();
  const n = o.clients;
  const count = (share: number) => Math.max(1, Math.floor(n * share));
  const publishers = count(ROLES.publishers);
  const t = new Traffic([...c.nodes.values()].map((x) => x.mqttPort), rand, ledger, (publishers / o.publishRate) * 1000, o.roam);
  const baseHeap = await heapUsed(c);
  const baseRss = rssByNode(c);

  // before the traffic: the persistent sessions and their subscriptions, then routes settle
  const persistent = Array.from({ length: count(ROLES.persistent) }, (_, i) => new PersistentSubscriber(t, `soak-p${i}`));
  const ready = await Promise.all(persistent.map((p) => p.setup()));
  const setupFailures = ready.filter((ok) => !ok).length;
  const watcher = await willWatcher(t);
  await sleep(1000);
  log(`soak: ${persistent.length - setupFailures} persistent sessions ready; traffic for ${o.durationMs / 1000} s`);

  const pollers = new Pollers(base, () => [...c.nodes.values()].map((x) => x.proc.pid));
  const peakHeap = new Map<string, number>();
  const heapTimer = setInterval(() => void heapUsed(c).then((h) => h.forEach((v, k) => v > (peakHeap.get(k) ?? 0) && peakHeap.set(k, v))), 2000);
  pollers.start();
  const loops: Promise<void>[] = persistent.map((p) => p.run());
  let next = persistent.length;
  const spawn = (k: number, fn: (id: string) => Promise<void>) => {
    for (let i = 0; i < k; i++) loops.push(fn(`soak-c${next++}`));
  };
  spawn(count(ROLES.clean), (id) => cleanSubscriber(t, id));
  const members = count(ROLES.shared);
  for (let i = 0; i < members; i++) {
    const g = Math.floor(i / SHARE_GROUP_SIZE);
    const filter = `soak/${g % 10}/+`;
    loops.push(sharedMember(t, `soak-s${i}`, `g${g}`, filter));
  }
  spawn(publishers, (id) => publisher(t, id));
  for (let i = 0; i < RETAINED_TOPICS; i++) loops.push(retainer(t, `soak-r${i}`, `${RETAINED_ROOT}/${i}`));
  spawn(count(ROLES.wills), (id) => willClient(t, id));
  spawn(Math.max(0, n - next - members - RETAINED_TOPICS), (id) => idler(t, id));

  let trafficDone!: () => void;
  const trafficOver = new Promise<void>((r) => (trafficDone = r));
  const faults = o.faults?.({ cluster: c, trafficDone: trafficOver, rand });
  const progress = setInterval(() => log(`soak: ${t.stats.connects} connects, ${ledger.result().acked} acked, ${ledger.deliveries.join('/')} delivered qos0/1/2, ${pollers.stats.requests} API polls (${pollers.stats.failures} failed)`), 10_000);
  await sleep(o.durationMs);
  t.stop();
  trafficDone();
  clearInterval(progress);
  await Promise.all(loops);
  await faults;
  await pollers.stop();
  clearInterval(heapTimer);
  log(`soak: traffic over; draining ${persistent.length} persistent sessions`);

  // the drain: every persistent subscriber back, until it has all it is owed (or no more comes)
  await sleep(500);
  const t0 = Date.now();
  for (let i = 0; i < persistent.length; i += 50) {
    await Promise.all(persistent.slice(i, i + 50).map(async (p) => (p.client = await p.connect())));
  }
  await drained(ledger, persistent);
  const drainMs = Date.now() - t0;
  const result = ledger.result();
  for (const m of result.missingPairs) {
    const p = persistent.find((x) => x.clientId === m.clientId)!;
    const around = p.history.filter((l) => Math.abs(Number(l.split(' ')[0]) - m.at) < 5000);
    log(`soak: missing ${ledger.describe(m.id)} to ${m.clientId}: ${p.wireTrace(m.id)}; its connections around then: ${around.join(', ')}`);
  }
  const per = await nodeMetrics(base);
  const totals = clusterTotals(per);

  // end every session: each persistent one with a clean connection
  await Promise.all(persistent.map(async (p) => p.client && closeClient(p.client, false)));
  for (let i = 0; i < persistent.length; i += 50) {
    await Promise.all(persistent.slice(i, i + 50).map(async (p) => {
      const cl = await p.connect(true);
      if (cl) await closeClient(cl, false);
    }));
  }
  const retained = await readRetained(c.nodes.values().next().value!.mqttPort);
  // the last wills are published as the nodes notice the last dropped sockets
  await eventually(() => {
    if (t.stats.willsSeen + t.stats.willsSpurious < t.stats.willsExpected) throw new Error('wills still coming');
  }, 5_000, 250).catch(() => {});
  if (watcher) await closeClient(watcher, false);

  const checks: Check[] = [...deliveryChecks(result, totals), ...metricChecks(per, ledger, retainedAndWills(t)), ...willChecks(t.stats), retainedCheck(t.stats, retained)];
  const leaks = await eventually(async () => {
    const l = await redisLeaks(c.redis.url);
    if (l.leaked.length) throw new Error(l.leaked.join(', '));
    return l;
  }, 15_000, 500).catch(async () => redisLeaks(c.redis.url));
  checks.push({ name: REDIS_NO_LEAKS, ok: leaks.leaked.length === 0, detail: leaks.leaked.length ? leaks.leaked.slice(0, 5).join('; ') : `${leaks.keys} keys, all cluster config, membership or retained` });
  const endHeap = await eventually(async () => {
    const h = await heapUsed(c);
    if (!memoryCheck(baseHeap, peakHeap, h, 'heap').ok) throw new Error('not yet');
    return h;
  }, 20_000, 1000).catch(() => heapUsed(c));
  checks.push(memoryCheck(baseHeap, peakHeap, endHeap, 'heap + external'));
  const endRss = rssByNode(c);
  const peakRss = new Map([...c.nodes.values()].map((x) => [x.nodeName, pollers.stats.peakRss.get(x.proc.pid) ?? 0]));
  const alive = [...c.nodes.values()].filter((x) => x.proc.alive).length;
  checks.push({ name: 'every node still running', ok: alive === c.nodes.size, detail: `${alive} of ${c.nodes.size}` });
  checks.push({ name: 'every API and /metrics poll answered 200 (code 0)', ok: pollers.stats.failures === 0, detail: `${pollers.stats.requests} polls, ${pollers.stats.failures} failed, slowest ${pollers.stats.maxLatencyMs} ms${pollers.stats.failureExamples.length ? `; ${pollers.stats.failureExamples.join('; ')}` : ''}` });

  const mb = (m: Map<string, number>) => [...m.values()].map((v) => (v / 1048576).toFixed(0)).join('/');
  const numbers: Record<string, number | string> = {
    clients: n,
    persistentSessions: persistent.length,
    setupFailures,
    connects: t.stats.connects,
    connectFailures: t.stats.connectFailures,
    abruptCloses: t.stats.abruptCloses,
    publishesQos012: ledger.attempted.join('/'),
    ackedQos12: result.acked,
    deliveriesQos012: ledger.deliveries.join('/'),
    owedPairs: result.owed,
    missing: result.missing,
    subscribersMissingSomeAll: `${result.subscribersMissing}/${result.subscribersMissingAll} of ${persistent.length}`,
    queueFullDrops: totals['delivery.dropped.queue_full'] ?? 0,
    drainMs,
    willsSeen: `${t.stats.willsSeen}/${t.stats.willsExpected}`,
    apiPolls: pollers.stats.requests,
    slowestPollMs: pollers.stats.maxLatencyMs,
    rssMiBBaselinePeakEnd: `${mb(baseRss)} → ${mb(peakRss)} → ${mb(endRss)}`,
  };
  const { log: _l, faults: _f, ...options } = o;
  return { options, ok: checks.every((x) => x.ok), checks, numbers };
}

/**
 * Until every persistent subscriber has all it is owed, or nothing more has come for
 * DRAIN_QUIET_MS (what is still lacking then will not come), at most DRAIN_TIMEOUT_MS.
 */
async function drained(ledger: Ledger, persistent: PersistentSubscriber[]): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let count = -1;
  let quietSince = Date.now();
  while (Date.now() < deadline && Date.now() - quietSince < DRAIN_QUIET_MS) {
    if (persistent.every((p) => ledger.lacking(p.clientId) === 0)) return;
    const now = ledger.deliveries.reduce((a, b) => a + b, 0);
    if (now !== count) {
      count = now;
      quietSince = Date.now();
    }
    await sleep(250);
  }
}

/** QoS 1 messages the broker received that no publisher loop counted: retained values and wills. */
const retainedAndWills = (t: Traffic): number => t.stats.retainedPublishes + t.stats.willsExpected + t.stats.willsSpurious;

/** The retained messages a new subscriber gets, topic → value. */
async function readRetained(port: number): Promise<Map<string, string>> {
  const got = new Map<string, string>();
  const c = await openClient(port, { clientId: 'soak-retained-reader', clean: true }, (cl) => cl.on('message', (topic, payload) => got.set(topic, payload.toString())));
  if (!c) return got;
  await subscribe(c, `${RETAINED_ROOT}/#`, 1);
  await sleep(1000);
  await closeClient(c, false);
  return got;
}
