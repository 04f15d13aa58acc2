/**
 * A real three-node cluster under failure, with MQTT traffic streaming throughout: a node
 * killed with SIGKILL (fast RPC failure, purge within a few heartbeats, other traffic
 * untouched), then Redis and NATS each restarted (nodes recover their routes and
 * registrations by themselves; local traffic never stops). What was lost during each outage
 * is reported as test diagnostics.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { RpcError } from '../../shared/rpc.js';
import { eventually, fullName, HEARTBEAT_MS, HEARTBEAT_TTL_MS, RPC_TIMEOUT_MS, sleep, startCluster, type TestCluster } from '../support/cluster.js';
import { closeAllClients, connectClient, tcpUrl, uid, withTimeout, type ConnectOptions, type QoS, type Received, type Scope, type TestClient } from '../support/mqtt-clients.js';

let c: TestCluster;

before(async () => {
  c = await startCluster(['n1', 'n2', 'n3']);
});

after(async () => {
  await closeAllClients();
  await c?.stop();
});

function client(t: Scope, node: string, opts: ConnectOptions = {}): Promise<TestClient> {
  return connectClient(tcpUrl(c.node(node).mqttPort), { clientId: uid(node), ...opts }, t);
}

const isProbe = (m: Received): boolean => m.payload.startsWith('probe-');

/** Publishes QoS 1 probes until every receiver has one of this publisher's (its routes reached the publisher's node). */
async function probeUntil(pub: TestClient, topic: string, receivers: TestClient[], timeoutMs = 3000): Promise<number> {
  const t0 = performance.now();
  const mine = (m: Received) => m.payload.startsWith(`probe-${pub.label}-`);
  for (let k = 0; ; k++) {
    if (receivers.every((r) => r.messages(mine).length > 0)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`no route for ${topic} to ${receivers.filter((r) => r.messages(mine).length === 0).map((r) => r.label).join(', ')} after ${timeoutMs} ms`);
    await pub.publish(topic, `probe-${pub.label}-${k}`, { qos: 1 });
    await sleep(10);
  }
}

async function storeRoutes(): Promise<Set<string>> {
  return new Set((await c.store.routes()).map((r) => `${r.node} ${r.filter}`));
}

// ---- traffic streams ----

interface Sent {
  seq: number;
  at: number;
  /** when the publish resolved (PUBACK for QoS 1, written for QoS 0) */
  doneAt?: number;
  err?: string;
}

interface Stream {
  readonly name: string;
  readonly topic: string;
  readonly qos: QoS;
  readonly sent: Sent[];
  /** arrivals of the stream's messages at its subscriber: seq and time */
  readonly arrivals: { seq: number; at: number }[];
  stop(): Promise<void>;
}

/** Publishes 0, 1, 2, … on `topic` every `everyMs` (QoS 1: the next only after the PUBACK) and records arrivals at `sub`. */
function startStream(name: string, pub: TestClient, sub: TestClient, topic: string, qos: QoS, everyMs = 10): Stream {
  const arrivals: { seq: number; at: number }[] = [];
  sub.client.on('message', (tp, payload) => {
    if (tp !== topic) return;
    const s = payload.toString();
    if (/^\d+$/.test(s)) arrivals.push({ seq: Number(s), at: performance.now() });
  });
  const sent: Sent[] = [];
  let running = true;
  const loop = (async () => {
    for (let seq = 0; running; seq++) {
      const rec: Sent = { seq, at: performance.now() };
      sent.push(rec);
      try {
        await withTimeout(pub.client.publishAsync(topic, String(seq), { qos }), 15_000, `${name}: publish ${seq}`);
        rec.doneAt = performance.now();
      } catch (err) {
        rec.err = (err as Error).message;
      }
      await sleep(everyMs);
    }
  })();
  return {
    name,
    topic,
    qos,
    sent,
    arrivals,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Arrivals within [from, to]. */
function arrivedBetween(s: Stream, from: number, to: number): number {
  return s.arrivals.filter((a) => a.at >= from && a.at <= to).length;
}

/** The longest time without an arrival within [from, to]. */
function maxGap(s: Stream, from: number, to: number): number {
  let last = from;
  let gap = 0;
  for (const a of s.arrivals) {
    if (a.at < from) continue;
    if (a.at > to) break;
    gap = Math.max(gap, a.at - last);
    last = a.at;
  }
  return Math.max(gap, to - last);
}

/** Seqs sent and never received, as compact ranges. */
function lost(s: Stream): number[] {
  const got = new Set(s.arrivals.map((a) => a.seq));
  return s.sent.filter((x) => !got.has(x.seq) && x.err === undefined).map((x) => x.seq);
}

function ranges(seqs: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < seqs.length; ) {
    let j = i;
    while (j + 1 < seqs.length && seqs[j + 1] === seqs[j]! + 1) j++;
    out.push(i === j ? `${seqs[i]}` : `${seqs[i]}-${seqs[j]}`);
    i = j + 1;
  }
  return out.length ? out.join(',') : 'none';
}

function duplicates(s: Stream): number[] {
  const seen = new Set<number>();
  const dup: number[] = [];
  for (const a of s.arrivals) {
    if (seen.has(a.seq)) dup.push(a.seq);
    seen.add(a.seq);
  }
  return dup;
}

/** Sent seqs whose publish started within [from, to]. */
function sentBetween(s: Stream, from: number, to: number): number[] {
  return s.sent.filter((x) => x.at >= from && x.at <= to).map((x) => x.seq);
}

const ms = (x: number): string => `${Math.round(x)} ms`;

// ---- tests ----

test('kill -9 of n2 mid-traffic: RPC to n2 fails fast (101), n2 and its routes and registrations purged within a few heartbeats, n1 -> n3 never stops', async (t) => {
  const id = uid('kill');
  const topic = `${id}/stream`;
  const n2Client = `${id}-on-n2`;
  // n2 has routes (one matching the stream) and a registered client. Its session is clean: a
  // persistent one would hold the publisher's acknowledgement of the message in flight to n2
  // until n2 is dead by its heartbeat and the copy stored for it (docs/forwarding.md,
  // "Unreachable nodes"), and the stream with it.
  const onN2 = await client(t, 'n2', { clientId: n2Client });
  await onN2.subscribe({ [topic]: { qos: 1 }, [`${id}/only-n2/#`]: { qos: 0 } });
  const sub = await client(t, 'n3', { label: 'sub-n3' });
  await sub.subscribe(topic, { qos: 1 });
  const pub = await client(t, 'n1', { label: 'pub-n1' });
  await probeUntil(pub, topic, [sub, onN2]);
  await eventually(async () => {
    const routes = await storeRoutes();
    assert.ok(routes.has(`${fullName('n2')} ${topic}`) && routes.has(`${fullName('n2')} ${id}/only-n2/#`));
  });
  assert.equal(await c.store.lookupClient(n2Client), fullName('n2'));

  const stream = startStream('n1->n3 QoS 1', pub, sub, topic, 1, 5);
  t.after(() => stream.stop());
  await eventually(() => assert.ok(stream.arrivals.length >= 20, 'stream flowing'));

  const killedAt = performance.now();
  const arrivedAtKill = stream.arrivals.length;
  const killed = c.node('n2').kill9();
  c.nodes.delete('n2');
  await killed;

  // an RPC to the dead node fails within the RPC timeout, with code 101
  const rpcFrom = performance.now();
  const err = await c.transport.request(fullName('n2'), 'nodes.get', {}, RPC_TIMEOUT_MS).then(
    () => assert.fail('an RPC to a killed node answered'),
    (e: unknown) => e,
  );
  const rpcMs = performance.now() - rpcFrom;
  assert.ok(err instanceof RpcError, String(err));
  assert.equal(err.code, 101, err.message);
  assert.ok(rpcMs < RPC_TIMEOUT_MS + 1500, `RPC failed after ${ms(rpcMs)}`);
  t.diagnostic(`RPC to killed n2: code ${err.code} after ${ms(rpcMs)} (${err.message})`);

  // its record, routes and registrations are purged by a survivor within a few heartbeats
  await eventually(async () => assert.ok(!(await c.store.nodes()).some((n) => n.name === fullName('n2')), 'n2 record purged'), 5000, 10);
  const purgedMs = performance.now() - killedAt;
  const routes = await storeRoutes();
  assert.deepEqual(
    [...routes].filter((r) => r.startsWith(`${fullName('n2')} `)),
    [],
    'no route of n2 left in the store',
  );
  assert.equal(await c.store.lookupClient(n2Client), undefined, "n2's registration purged");
  t.diagnostic(`n2 purged from the registry ${ms(purgedMs)} after kill -9 (heartbeat ${HEARTBEAT_MS} ms, ttl ${HEARTBEAT_TTL_MS} ms)`);
  assert.ok(purgedMs < HEARTBEAT_TTL_MS + 3 * HEARTBEAT_MS, `purge took ${ms(purgedMs)}`);
  assert.deepEqual((await c.store.nodes()).map((n) => n.name).sort(), [fullName('n1'), fullName('n3')]);

  // the stream went on through all of it
  const arrivedAtPurge = stream.arrivals.length;
  await sleep(300);
  const endAt = performance.now();
  await stream.stop();
  await eventually(() => assert.equal(stream.arrivals.length, stream.sent.length, 'every QoS 1 message arrived'), 5000);
  await sub.barrier();
  const gap = maxGap(stream, killedAt - 200, endAt);
  t.diagnostic(`n1->n3 stream: ${stream.sent.length} sent, ${stream.arrivals.length} arrived; ${arrivedAtKill} at kill, ${arrivedAtPurge} at purge; longest gap around the kill ${ms(gap)}`);
  assert.ok(arrivedAtPurge > arrivedAtKill, 'count kept rising between kill and purge');
  assert.ok(gap < 400, `no gap in the stream (longest ${ms(gap)})`);
  assert.deepEqual(
    stream.arrivals.map((a) => a.seq),
    stream.sent.map((s) => s.seq),
    'every message once, in order',
  );
  assert.deepEqual(
    stream.sent.filter((s) => s.err),
    [],
  );
});

test('Redis, then NATS restarted under traffic: routes and registrations recovered without node restarts, local traffic never stops', async (t) => {
  if (!c.nodes.has('n2')) await c.startNode('n2');
  const id = uid('out');
  const topics = { local: `${id}/local`, x1: `${id}/x1`, x0: `${id}/x0` };
  const ids = { n1: `${id}-sub-n1`, n2: `${id}-idle-n2`, n3: `${id}-sub-n3` };

  // local: publisher and subscriber on n1; cross-node: n1 -> n3 at QoS 1 and QoS 0
  const subLocal = await client(t, 'n1', { clientId: ids.n1, clean: false });
  await subLocal.subscribe(topics.local, { qos: 1 });
  const idle = await client(t, 'n2', { clientId: ids.n2, clean: false });
  await idle.subscribe(`${id}/n2/#`, { qos: 1 });
  const subX = await client(t, 'n3', { clientId: ids.n3, clean: false, label: 'sub-n3' });
  await subX.subscribe({ [topics.x1]: { qos: 1 }, [topics.x0]: { qos: 1 } });
  const pubLocal = await client(t, 'n1', { label: 'pub-local' });
  const pubX1 = await client(t, 'n1', { label: 'pub-x1' });
  const pubX0 = await client(t, 'n1', { label: 'pub-x0' });
  await probeUntil(pubX1, topics.x1, [subX]);
  await probeUntil(pubX0, topics.x0, [subX]);
  const routesBefore = await storeRoutes();
  for (const [n, cid] of Object.entries(ids)) assert.equal(await c.store.lookupClient(cid), fullName(n));
  for (const n of ['n1', 'n2', 'n3']) assert.ok([...routesBefore].some((r) => r.startsWith(`${fullName(n)} `)), `${n} has routes`);

  const streams = [
    startStream('local n1->n1 QoS 1', pubLocal, subLocal, topics.local, 1),
    startStream('cross n1->n3 QoS 1', pubX1, subX, topics.x1, 1),
    startStream('cross n1->n3 QoS 0', pubX0, subX, topics.x0, 0),
  ];
  const [local, x1, x0] = streams as [Stream, Stream, Stream];
  t.after(() => Promise.all(streams.map((s) => s.stop())));
  await eventually(() => assert.ok(streams.every((s) => s.arrivals.length >= 10), 'streams flowing'));

  const pubDuring = await client(t, 'n1', { label: 'pub-during' });

  // ---- Redis ----
  const redisDown = performance.now();
  let redisUp = 0;
  const redisRestart = c.redis.restart({ downtimeMs: 1000 }).then(() => void (redisUp = performance.now()));
  await sleep(300);
  // while Redis is away: a new subscription on n2 and a retained message on n1
  const duringRedis = await client(t, 'n2', { label: 'sub-during-redis' });
  await duringRedis.subscribe(`${id}/during-redis`, { qos: 1 });
  await sleep(100);
  for (let i = 0; i < 5; i++) await pubDuring.publish(`${id}/during-redis`, `d${i}`, { qos: 1 });
  const registeredDuring = await client(t, 'n3', { clientId: `${id}-during-redis`, clean: false });
  const retainer = await client(t, 'n1');
  await retainer.publish(`${id}/retained-during-redis`, 'kept', { qos: 1, retain: true });
  await redisRestart;

  const recovered = await eventually(
    async () => {
      const now = await storeRoutes();
      const missing = [...routesBefore].filter((r) => !now.has(r));
      assert.deepEqual(missing, [], 'every route listed again');
      assert.ok(now.has(`${fullName('n2')} ${id}/during-redis`), 'the subscription made during the outage is listed');
      for (const [n, cid] of Object.entries(ids)) assert.equal(await c.store.lookupClient(cid), fullName(n), `${cid} registered again`);
      assert.equal(await c.store.lookupClient(registeredDuring.clientId), fullName('n3'), 'a client connected during the outage is registered');
      assert.deepEqual((await c.store.nodes()).map((x) => x.name).sort(), ['n1', 'n2', 'n3'].map(fullName));
      return performance.now();
    },
    8000,
    25,
  );
  t.diagnostic(`Redis down ${ms(redisUp - redisDown)}; routes, registrations and node records back ${ms(recovered - redisUp)} after it was up again`);

  // a new subscription on n2 made after the restart receives messages published on n1
  const afterRedis = await client(t, 'n2', { label: 'sub-after-redis' });
  await afterRedis.subscribe(`${id}/after-redis`, { qos: 1 });
  const pubCheck = await client(t, 'n1', { label: 'pub-check' });
  await probeUntil(pubCheck, `${id}/after-redis`, [afterRedis]);
  for (let i = 0; i < 10; i++) await pubCheck.publish(`${id}/after-redis`, `a${i}`, { qos: 1 });
  await afterRedis.waitForMessages(10, { filter: (m) => !isProbe(m) });
  // ... and the one made while Redis was away too; the retained one set meanwhile is cluster-wide
  const duringRedisGot = duringRedis.messages((m) => m.payload.startsWith('d')).length;
  t.diagnostic(`subscription made on n2 while Redis was away: ${duringRedisGot} of 5 QoS 1 messages published on n1 during the outage delivered (its route only reaches the others on resync)`);
  await probeUntil(pubCheck, `${id}/during-redis`, [duringRedis]);
  const retainedCheck = await client(t, 'n3');
  await eventually(async () => {
    const from = retainedCheck.mark();
    await retainedCheck.subscribe(`${id}/retained-during-redis`, { qos: 1 });
    await retainedCheck.barrier();
    await retainedCheck.unsubscribe(`${id}/retained-during-redis`);
    assert.deepEqual(
      retainedCheck.received.slice(from).map((m) => m.payload),
      ['kept'],
    );
  }, 3000);

  // ---- NATS ----
  await sleep(300);
  const burstTopic = `${id}/burst`;
  await subX.subscribe(burstTopic, { qos: 1 });
  const crossPubs = await Promise.all([0, 1, 2, 3].map((i) => client(t, 'n1', { label: `pub-cross-${i}` })));
  const localPubs = await Promise.all([0, 1, 2, 3].map((i) => client(t, 'n1', { label: `pub-local-${i}` })));
  await probeUntil(crossPubs[0]!, burstTopic, [subX]);
  const natsDown = performance.now();
  let natsUp = 0;
  const natsRestart = c.nats.restart({ downtimeMs: 1000 }).then(() => void (natsUp = performance.now()));
  await sleep(300);
  // While NATS is away, from 4 connections each, interleaved and pipelined (not one at a time like
  // the streams): QoS 1 messages to n3, and QoS 1 messages to a subscriber on n1, whose PUBACKs
  // owe nothing to NATS.
  const burst: { payload: string; acked: boolean; ackedAt?: number }[] = [];
  const crossAcks: Promise<void>[] = [];
  const localTimes: Promise<number>[] = [];
  const slowLocal: string[] = [];
  let localDoneAt = 0;
  const localBurstFrom = subLocal.mark();
  for (let i = 0; i < 25; i++) {
    for (const p of crossPubs) {
      const b: (typeof burst)[number] = { payload: `x${i}-${p.label}`, acked: false };
      burst.push(b);
      crossAcks.push(
        withTimeout(p.client.publishAsync(burstTopic, b.payload, { qos: 1 }), 15_000, `burst ${b.payload}`).then(
          () => {
            b.acked = true;
            b.ackedAt = performance.now();
          },
          () => {},
        ),
      );
    }
    for (const p of localPubs) {
      const at = performance.now();
      localTimes.push(
        withTimeout(p.client.publishAsync(topics.local, `lb${i}-${p.label}`, { qos: 1 }), 15_000, 'local burst').then(() => {
          const now = performance.now();
          localDoneAt = Math.max(localDoneAt, now);
          if (now - at > 200) slowLocal.push(`${p.label}#${i} sent ${ms(at - natsDown)} after NATS down, took ${ms(now - at)}`);
          return now - at;
        }),
      );
    }
  }
  const localBurst = await Promise.all(localTimes);
  const localBurstSlowest = Math.max(...localBurst);
  const localBurstGot = subLocal.received.slice(localBurstFrom).filter((m) => m.payload.startsWith('lb')).length;
  const rpcFrom = performance.now();
  const rpcErr = await c.transport.request(fullName('n1'), 'nodes.get', {}, RPC_TIMEOUT_MS).then(
    () => undefined,
    (e: unknown) => e as RpcError,
  );
  t.diagnostic(`RPC during the NATS outage: ${rpcErr ? `code ${rpcErr.code} after ${ms(performance.now() - rpcFrom)} (${rpcErr.message})` : 'answered'}`);
  const duringNats = await client(t, 'n2', { label: 'sub-during-nats' });
  await duringNats.subscribe(`${id}/during-nats`, { qos: 1 });
  await natsRestart;
  // cross-node delivery is back: messages published after NATS was up arrive
  const firstSentAfter = (s: Stream) => s.sent.find((x) => x.at >= natsUp)?.seq;
  await eventually(
    () => {
      for (const s of [x1, x0]) {
        const first = firstSentAfter(s);
        assert.ok(first !== undefined && s.arrivals.some((a) => a.seq >= first), `${s.name}: delivery resumed`);
      }
    },
    8000,
    10,
  );
  const firstArrivalAfter = (s: Stream) => s.arrivals.find((a) => a.at > natsUp)!.at;
  const resumedAt = { x1: firstArrivalAfter(x1), x0: firstArrivalAfter(x0) };
  const resumed = Math.max(resumedAt.x1, resumedAt.x0);
  await eventually(async () => assert.ok(await c.transport.request(fullName('n2'), 'nodes.get', {}, RPC_TIMEOUT_MS)), 5000, 50);
  const rpcBack = performance.now();
  // the subscription made while NATS was away works (its route went through Redis)
  await probeUntil(pubCheck, `${id}/during-nats`, [duringNats]);
  await Promise.all(crossAcks);
  await sleep(200); // forwarded QoS 1 messages still on their way
  const burstArrivals = subX.messages((m) => m.topic === burstTopic && !isProbe(m)).map((m) => m.payload);
  const burstGot = new Set(burstArrivals);
  const burstLost = burst.filter((b) => !burstGot.has(b.payload));
  t.diagnostic(
    `NATS down ${ms(natsUp - natsDown)}; after it was up again: QoS 0 stream back after ${ms(resumedAt.x0 - natsUp)}, QoS 1 stream after ${ms(resumedAt.x1 - natsUp)}, RPC after ${ms(rpcBack - natsUp)}`,
  );
  t.diagnostic(`local QoS 1 burst on n1 during the NATS outage: ${localBurst.length} published, ${localBurstGot} delivered while NATS was down, slowest PUBACK ${ms(localBurstSlowest)}, ${localBurst.filter((x) => x > 200).length} PUBACKs later than 200 ms`);
  if (slowLocal.length) t.diagnostic(`slow local PUBACKs: ${slowLocal.join('; ')}`);
  // a PUBACK held by a flush could only come once the node is back on NATS, after natsUp
  assert.ok(localDoneAt < natsUp, `local PUBACKs waited for NATS to come back (last ${ms(localDoneAt - natsUp)} after it was up)`);
  t.diagnostic(
    `QoS 1 published n1 -> n3 (pipelined) during the NATS outage: ${burst.length} sent, ${burst.filter((b) => b.acked).length} PUBACKed, ${burstGot.size} delivered, ${burstLost.filter((b) => b.acked).length} PUBACKed but never delivered`,
  );

  await sleep(300);
  const endAt = performance.now();
  await Promise.all(streams.map((s) => s.stop()));
  await eventually(() => assert.equal(local.arrivals.length, local.sent.length), 5000).catch(() => {});
  await sleep(200); // cross-node messages still on their way
  await Promise.all([subLocal.barrier(), subX.barrier()]);

  const windows = [
    ['Redis outage', redisDown, recovered],
    ['NATS outage', natsDown, resumed],
  ] as const;
  for (const s of streams) {
    const gone = lost(s);
    const dup = duplicates(s);
    const parts = [`${s.name}: ${s.sent.length} sent, ${s.arrivals.length} arrived, lost ${gone.length} [${ranges(gone)}], duplicates ${dup.length}`];
    for (const [what, from, to] of windows) {
      const sentIn = sentBetween(s, from, to);
      const lostIn = gone.filter((q) => sentIn.includes(q));
      const slowest = Math.max(0, ...s.sent.filter((x) => x.at >= from && x.at <= to && x.doneAt).map((x) => x.doneAt! - x.at));
      parts.push(`${what}: ${sentIn.length} published, ${lostIn.length} lost, ${arrivedBetween(s, from, to)} arrived, longest gap ${ms(maxGap(s, from, to))}, slowest ${s.qos ? 'PUBACK' : 'publish'} ${ms(slowest)}`);
    }
    const slow = s.sent.filter((x) => x.doneAt !== undefined && x.doneAt - x.at > 100).map((x) => `#${x.seq}@${ms(x.at - natsDown)}:${ms(x.doneAt! - x.at)}`);
    if (slow.length) parts.push(`slow publishes (seq@since NATS down:took): ${slow.join(' ')}`);
    const errs = s.sent.filter((x) => x.err);
    if (errs.length) parts.push(`publish errors: ${errs.length} (${errs[0]!.err})`);
    t.diagnostic(parts.join(' | '));
  }

  // local traffic kept flowing while each was down, and lost nothing
  for (const [what, from, to] of windows) {
    assert.ok(arrivedBetween(local, from, to) > 0, `local traffic during the ${what}`);
    assert.ok(maxGap(local, from, to) < 500, `local traffic gap during the ${what}: ${ms(maxGap(local, from, to))}`);
  }
  assert.deepEqual(lost(local), [], 'local QoS 1 stream lost nothing');
  assert.deepEqual(duplicates(local), []);
  // cross-node traffic goes on after both
  assert.ok(arrivedBetween(x1, resumed, endAt + 1000) > 0 && arrivedBetween(x0, resumed, endAt + 1000) > 0, 'cross-node traffic after the outages');

  await t.test('QoS 1 published during the NATS outage: never PUBACKed unless delivered', () => {
    const lies = [...burst.filter((b) => b.acked && !burstGot.has(b.payload)).map((b) => b.payload), ...lost(x1).map((q) => `x1:${q}`)];
    assert.deepEqual(lies, [], 'acknowledged, never delivered');
    // delivered once: a resend after the reconnect is recognised by the receiving node
    assert.equal(burstArrivals.length, burstGot.size, `burst duplicates: ${burstArrivals.length - burstGot.size}`);
    assert.deepEqual(duplicates(x1), [], 'x1 duplicates');
    // NATS came back: every one was acknowledged, soon after
    assert.deepEqual(
      burst.filter((b) => !b.acked).map((b) => b.payload),
      [],
      'not acknowledged',
    );
    const lastAck = Math.max(...burst.map((b) => b.ackedAt!));
    const firstAck = Math.min(...burst.map((b) => b.ackedAt!));
    // the x1 stream's message held by the outage, acknowledged once NATS was back
    const heldX1 = x1.sent.filter((x) => x.at < natsUp && x.doneAt !== undefined && x.doneAt > natsUp);
    t.diagnostic(
      `PUBACKs of the QoS 1 burst: first ${ms(firstAck - natsUp)}, last ${ms(lastAck - natsUp)} after NATS was up; x1 message(s) held by the outage acknowledged ${heldX1.map((x) => ms(x.doneAt! - natsUp)).join(', ') || '-'} after`,
    );
    assert.ok(firstAck > natsDown, 'the burst was published during the outage');
    assert.ok(lastAck - natsUp < 1000, `acks resumed ${ms(lastAck - natsUp)} after NATS was up`);
    for (const x of heldX1) assert.ok(x.doneAt! - natsUp < 1000, `x1 #${x.seq} acknowledged ${ms(x.doneAt! - natsUp)} after NATS was up`);
  });
});
