/**
 * The ClusterStore contract, one suite body run against MemoryStore and RedisStore (a real
 * redis-server), so the standalone and clustered modes behave alike. Each test gets its own
 * data (a fresh shared memory state, or a unique Redis key prefix) and two or more store
 * instances on it, standing for two nodes. Then Redis-only: start() without Redis, and an
 * outage (SIGKILL) with recovery.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MemoryStore, MemoryStoreState } from '../../shared/cluster/memory-store.js';
import { RedisStore } from '../../shared/cluster/redis-store.js';
import { RedisConnection } from '../../shared/cluster/redis/connection.js';
import { DELTA_MAX_CHANGES } from '../../shared/cluster/route-delta.js';
import type { ClusterStore, NodeRecord, RouteChange } from '../../shared/cluster/store.js';
import type { AppRecord } from '../../shared/api/apps.js';
import { bannedKey, type BannedAs, type BannedEntry } from '../../shared/api/banned.js';
import { featureStateKey } from '../../shared/api/feature-states.js';
import { CONFIG_KINDS, type ConfigKind, type ConfigRecord } from '../../shared/cluster/config-kinds.js';
import { freePort } from '../support/ports.js';
import { startRedis, type Service } from '../support/services.js';
import { sleep } from '../support/wait.js';

interface Backend {
  /** another started store instance on this test's data; closed after the test */
  store(): Promise<ClusterStore>;
}
type BackendFactory = (t: TestContext) => Promise<Backend>;

function backend(t: TestContext, create: () => ClusterStore): Backend {
  const open: ClusterStore[] = [];
  t.after(() => Promise.all(open.map((s) => s.close())));
  return {
    async store() {
      const s = create();
      open.push(s);
      await s.start();
      return s;
    },
  };
}

async function until(what: string, pred: () => boolean, timeoutMs = 3_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

let seq = 0;
const BARRIER_NODE = '~barrier';
const BARRIER_TOPIC = '~barrier/';

/** Route changes as seen by one store. */
function routeRecorder(s: ClusterStore): RouteChange[] {
  const seen: RouteChange[] = [];
  s.onRouteChanges((cs) => seen.push(...cs));
  return seen;
}

/** One-write batches, as a node sends a lone change. */
const addRoute = (s: ClusterStore, node: string, filter: string) => s.writeRoutes(node, [{ op: 'add', filter }]);
const deleteRoute = (s: ClusterStore, node: string, filter: string) => s.writeRoutes(node, [{ op: 'delete', filter }]);
const setSharedMembers = (s: ClusterStore, node: string, filter: string, members: number) => s.writeRoutes(node, [{ op: 'members', filter, members }]);

/**
 * Every route change seen since the last call, up to a barrier change made now by `writer`:
 * notifications are ordered, so once the barrier has arrived nothing announced before it is
 * still on its way, and "exactly these changes" can be asserted.
 */
async function routeChanges(writer: ClusterStore, seen: RouteChange[]): Promise<string[]> {
  const filter = `b${++seq}`;
  await addRoute(writer, BARRIER_NODE, filter);
  const isBarrier = (c: RouteChange) => c.node === BARRIER_NODE && c.filter === filter;
  await until(`route barrier ${filter}`, () => seen.some(isBarrier));
  const upTo = seen.splice(0, seen.findIndex(isBarrier) + 1);
  // A step may announce several changes at once (setRoutes) in no particular order: sorted.
  return upTo
    .filter((c) => c.node !== BARRIER_NODE)
    .map((c) => `${c.op} ${c.node} ${c.filter}`)
    .sort();
}

async function table(s: ClusterStore): Promise<string[]> {
  return (await s.routes())
    .filter((r) => r.node !== BARRIER_NODE)
    .map((r) => `${r.node} ${r.filter}`)
    .sort();
}

type RetainedSeen = { topic: string; value: string | null }[];
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function retainedRecorder(s: ClusterStore): RetainedSeen {
  const seen: RetainedSeen = [];
  s.onRetainedChange((topic, value) => seen.push({ topic, value: value === null ? null : hex(value) }));
  return seen;
}

/** As routeChanges(), for retained changes; kept in order (each step changes one topic). */
async function retainedChanges(writer: ClusterStore, seen: RetainedSeen): Promise<RetainedSeen> {
  const topic = `${BARRIER_TOPIC}${++seq}`;
  await writer.setRetained(topic, new Uint8Array([0]));
  await until(`retained barrier ${topic}`, () => seen.some((c) => c.topic === topic));
  return seen.splice(0, seen.findIndex((c) => c.topic === topic) + 1).filter((c) => !c.topic.startsWith(BARRIER_TOPIC));
}

async function retainedTable(s: ClusterStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [topic, value] of await s.retained()) if (!topic.startsWith(BARRIER_TOPIC)) out[topic] = hex(value);
  return out;
}

const byName = (a: NodeRecord, b: NodeRecord) => a.name.localeCompare(b.name);

/** Configuration changes as seen by one store. */
function configRecorder(s: ClusterStore): ConfigKind[] {
  const seen: ConfigKind[] = [];
  s.onConfigChange((what) => seen.push(what));
  return seen;
}

const BARRIER_ID = '~barrier';

/**
 * The configuration changes each recorder saw since the last call, up to a barrier change of
 * kind `barrier` made now by `writer` (a test checks the other kind; every recorder sees every
 * barrier exactly once, so they stay in step). The barrier must arrive within a second, and
 * every change made before it has arrived by then: "seen within a second" for all of them.
 */
async function configChanges(writer: ClusterStore, barrier: ConfigKind, ...seens: ConfigKind[][]): Promise<ConfigKind[][]> {
  const id = `${BARRIER_ID}${++seq}`;
  if (barrier === 'apps') assert.equal(await writer.configPut('apps', app(id), 'create'), true);
  else await writer.configPut('banned', ban('clientid', id, 4_000_000_000), 'upsert');
  await until(`config barrier ${id}`, () => seens.every((s) => s.includes(barrier)), 1_000);
  return seens.map((s) => s.splice(0, s.indexOf(barrier) + 1).slice(0, -1));
}

function app(appid: string, over: Partial<AppRecord> = {}): AppRecord {
  return { appid, name: `app ${appid}`, secretHash: `sha256:s41t:${appid}`, desc: '', status: true, expired: 'undefined', ...over };
}

function ban(as: BannedAs, who: string, until: number, reason = ''): BannedEntry {
  return { who, as, reason, by: 'admin', at: 1_000, until };
}

const appsOf = async (s: ClusterStore) => (await s.configList('apps')).filter((a) => !a.appid.startsWith(BARRIER_ID));
const bannedOf = async (s: ClusterStore) => (await s.configList('banned')).filter((e) => !e.who.startsWith(BARRIER_ID));

function contract(name: string, factory: BackendFactory): void {
  describe(`ClusterStore contract: ${name}`, () => {
    test('membership: heartbeat, nodes, deregister', async (t) => {
      const be = await factory(t);
      const [a, b] = [await be.store(), await be.store()];
      assert.equal(a.connected, true);
      assert.deepEqual(await a.nodes(), []);
      const n1: NodeRecord = { name: 'n1', heartbeatAt: 2_000, startedAt: 1_000 };
      const n2: NodeRecord = { name: 'n2', heartbeatAt: 2_100, startedAt: 1_100 };
      await a.heartbeat(n1, 5_000);
      await b.heartbeat(n2, 5_000);
      assert.deepEqual((await b.nodes()).sort(byName), [n1, n2]);
      await a.heartbeat({ ...n1, heartbeatAt: 3_000 }, 5_000);
      assert.deepEqual((await b.nodes()).sort(byName), [{ ...n1, heartbeatAt: 3_000 }, n2]);
      await a.deregister('n1');
      await a.deregister('never-registered');
      assert.deepEqual(await b.nodes(), [n2]);
    });

    test('claimPurge: exactly one of many concurrent claimers, again once the claim lapses', async (t) => {
      const be = await factory(t);
      const stores = [await be.store(), await be.store(), await be.store()];
      const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => stores[i % 3]!.claimPurge('dead1', `n${i}`, 10_000)));
      assert.equal(claims.filter(Boolean).length, 1, `claims: ${claims}`);
      assert.equal(await stores[0]!.claimPurge('dead1', 'late', 10_000), false);
      // Another dead node is claimed independently; a lapsed claim can be taken again.
      assert.equal(await stores[1]!.claimPurge('dead2', 'n1', 150), true);
      assert.equal(await stores[2]!.claimPurge('dead2', 'n2', 150), false);
      await sleep(300);
      assert.equal(await stores[2]!.claimPurge('dead2', 'n2', 10_000), true);
    });

    test('routes: add, delete and set announce exactly the changes, to every instance', async (t) => {
      const be = await factory(t);
      const [a, b] = [await be.store(), await be.store()];
      const seenA = routeRecorder(a);
      const seenB = routeRecorder(b);
      // Both instances must see the same changes, the writer's own included.
      const step = async (expected: string[], expectedTable: string[]) => {
        assert.deepEqual(await routeChanges(a, seenB), [...expected].sort(), 'seen by b');
        assert.deepEqual(await routeChanges(b, seenA), [...expected].sort(), 'seen by a');
        assert.deepEqual(await table(a), [...expectedTable].sort(), 'table');
      };

      await addRoute(a, 'n1', 't/#');
      await step(['add n1 t/#'], ['n1 t/#']);
      await addRoute(a, 'n1', 't/#'); // already there: nothing to announce
      await deleteRoute(a, 'n1', 'not/there');
      await a.setRoutes('n1', ['t/#']);
      await step([], ['n1 t/#']);
      await addRoute(a, 'n1', '$share/g/s/+');
      await addRoute(b, 'n2', 't/#');
      await step(['add n1 $share/g/s/+', 'add n2 t/#'], ['n1 t/#', 'n1 $share/g/s/+', 'n2 t/#']);
      await deleteRoute(a, 'n1', 't/#');
      await step(['delete n1 t/#'], ['n1 $share/g/s/+', 'n2 t/#']);
      // setRoutes: the difference only; duplicates in the input count once.
      await a.setRoutes('n1', ['$share/g/s/+', 'x/ü/€', 'y', 'y']);
      await step(['add n1 x/ü/€', 'add n1 y'], ['n1 $share/g/s/+', 'n1 x/ü/€', 'n1 y', 'n2 t/#']);
      await b.setRoutes('n1', ['y', 'z']);
      await step(['delete n1 $share/g/s/+', 'delete n1 x/ü/€', 'add n1 z'], ['n1 y', 'n1 z', 'n2 t/#']);
      await a.setRoutes('n1', []);
      await a.setRoutes('n3', []);
      await step(['delete n1 y', 'delete n1 z'], ['n2 t/#']);
      // A larger set in one call.
      const many = Array.from({ length: 3_000 }, (_, i) => `m/${i}`);
      await a.setRoutes('n3', many);
      assert.equal((await routeChanges(a, seenB)).length, many.length);
      assert.equal((await table(b)).length, many.length + 1);
    });

    test('shared member counts: kept with their route, announced as an add with members, dropped with it', async (t) => {
      const be = await factory(t);
      const [a, b] = [await be.store(), await be.store()];
      const seenB = routeRecorder(b);
      const withCounts = routeRecorder(b);
      const counts = async () =>
        (await b.routes())
          .filter((r) => r.node !== BARRIER_NODE)
          .map((r) => `${r.node} ${r.filter} ${r.members ?? 1}`)
          .sort();
      const announced = async () => {
        await routeChanges(a, seenB); // up to a barrier, then what b saw with the counts
        return withCounts.splice(0).filter((c) => c.node !== BARRIER_NODE).map((c) => `${c.op} ${c.node} ${c.filter} ${c.members ?? '-'}`);
      };
      await setSharedMembers(a, 'n1', '$share/g/t', 3); // no such route: nothing
      await addRoute(a, 'n1', '$share/g/t');
      await setSharedMembers(a, 'n1', '$share/g/t', 3);
      await setSharedMembers(a, 'n1', '$share/g/t', 3); // unchanged: nothing
      assert.deepEqual(await announced(), ['add n1 $share/g/t -', 'add n1 $share/g/t 3']);
      assert.deepEqual(await counts(), ['n1 $share/g/t 3']);
      await deleteRoute(a, 'n1', '$share/g/t');
      await addRoute(a, 'n1', '$share/g/t');
      assert.deepEqual(await counts(), ['n1 $share/g/t 1'], 'a route made again starts at one member');
      await setSharedMembers(a, 'n1', '$share/g/t', 2);
      await a.setRoutes('n1', []);
      await addRoute(a, 'n1', '$share/g/t');
      assert.deepEqual(await counts(), ['n1 $share/g/t 1'], 'setRoutes drops the counts of the routes it removes');
    });

    test('writeRoutes: a batch applied in order and told in one notice; an add then a delete of a filter nets out', async (t) => {
      const be = await factory(t);
      const [a, b] = [await be.store(), await be.store()];
      const seen = routeRecorder(b);
      const notices: string[][] = [];
      b.onRouteChanges((cs) => {
        const mine = cs.filter((c) => c.node !== BARRIER_NODE);
        if (mine.length) notices.push(mine.map((c) => `${c.op} ${c.node} ${c.filter}${c.members ? ` ${c.members}` : ''}`));
      });
      await a.writeRoutes('n1', [
        { op: 'add', filter: 'x' },
        { op: 'add', filter: 'y' },
        { op: 'add', filter: 'x' }, // already there: nothing
        { op: 'delete', filter: 'x' },
        { op: 'members', filter: '$share/g/t', members: 2 }, // no such route yet: nothing
        { op: 'add', filter: '$share/g/t' },
        { op: 'members', filter: '$share/g/t', members: 3 },
        { op: 'delete', filter: 'y' },
        { op: 'add', filter: 'x' },
      ]);
      await routeChanges(a, seen);
      assert.deepEqual(notices, [['add n1 x', 'add n1 y', 'delete n1 x', 'add n1 $share/g/t', 'add n1 $share/g/t 3', 'delete n1 y', 'add n1 x']]);
      assert.deepEqual(await table(b), ['n1 $share/g/t', 'n1 x']);
      assert.deepEqual((await b.routes()).find((r) => r.filter === '$share/g/t')?.members, 3);
      await a.writeRoutes('n1', []); // nothing to do, nothing told
      // A batch past one notice's size is told in order over several.
      notices.length = 0;
      const many = Array.from({ length: DELTA_MAX_CHANGES + 10 }, (_, i) => ({ op: 'add' as const, filter: `m/${i}` }));
      await a.writeRoutes('n2', many);
      await routeChanges(a, seen);
      assert.deepEqual(notices.map((n) => n.length), [DELTA_MAX_CHANGES, 10]);
      assert.deepEqual(notices.flat(), many.map((w) => `add n2 ${w.filter}`));
    });

    test('purgeNode with the record judged dead: a node that heartbeat since (restarted under its name) keeps what it wrote', async (t) => {
      const be = await factory(t);
      const [a, b] = [await be.store(), await be.store()];
      await a.heartbeat({ name: 'n1', heartbeatAt: 1, startedAt: 1 }, 1_000);
      await a.setRoutes('n1', ['old/1']);
      await a.registerClient('old', 'n1');
      const judged = (await b.nodes()).find((n) => n.name === 'n1')!;
      // n1 restarts before b's purge runs: a new record, then its own routes and clients
      await a.heartbeat({ name: 'n1', heartbeatAt: 5, startedAt: 5 }, 1_000);
      await addRoute(a, 'n1', 'new/1');
      await a.registerClient('new', 'n1');
      assert.equal(await b.purgeNode('n1', judged), false, 'the purge stops');
      assert.deepEqual(await table(b), ['n1 new/1', 'n1 old/1']);
      assert.equal(await b.lookupClient('new'), 'n1');
      assert.deepEqual(await b.nodes(), [{ name: 'n1', heartbeatAt: 5, startedAt: 5 }]);
      // the record judged dead still stored: purged
      const again = (await b.nodes())[0]!;
      assert.equal(await b.purgeNode('n1', again), true);
      assert.deepEqual(await table(b), []);
      assert.equal(await b.lookupClient('new'), undefined);
      assert.deepEqual(await b.nodes(), []);
    });

    test('purgeNode: removes the routes (announced), the registrations still on the node, the record', async (t) => {
      const be = await factory(t);
      const [a, b] = [await be.store(), await be.store()];
      const seen = routeRecorder(b);
      assert.equal(await a.heartbeat({ name: 'dead', heartbeatAt: 1, startedAt: 1 }, 1_000), true, 'a first heartbeat finds no record');
      assert.equal(await a.heartbeat({ name: 'alive', heartbeatAt: 2, startedAt: 2 }, 1_000), true);
      await a.setRoutes('dead', ['d/1', 'd/2', 'both/#']);
      await addRoute(b, 'alive', 'both/#');
      // Enough registrations that the Redis store's HSCAN takes several rounds.
      const deadClients = Array.from({ length: 2_500 }, (_, i) => `dc${i}`);
      await a.registerClients(deadClients, 'dead');
      await a.registerClient('live', 'alive');
      await a.registerClient('moved', 'dead');
      assert.equal(await b.registerClient('moved', 'alive'), 'dead');
      await routeChanges(a, seen);

      await b.purgeNode('dead');
      assert.deepEqual(await routeChanges(a, seen), ['delete dead both/#', 'delete dead d/1', 'delete dead d/2']);
      assert.deepEqual(await table(a), ['alive both/#']);
      const left = await Promise.all(deadClients.map((id) => a.lookupClient(id)));
      assert.deepEqual(left.filter((n) => n !== undefined), []);
      assert.equal(await a.lookupClient('live'), 'alive');
      assert.equal(await a.lookupClient('moved'), 'alive');
      assert.deepEqual(await a.nodes(), [{ name: 'alive', heartbeatAt: 2, startedAt: 2 }]);
      // a node purged while it still ran tells it from its next heartbeat
      assert.equal(await a.heartbeat({ name: 'alive', heartbeatAt: 3, startedAt: 2 }, 1_000), false);
      assert.equal(await a.heartbeat({ name: 'dead', heartbeatAt: 3, startedAt: 1 }, 1_000), true, 'the purged node finds its record gone');
      await a.deregister('dead');
      // Purging again (or an unknown node) is harmless and announces nothing.
      await a.purgeNode('dead');
      await a.purgeNode('unknown');
      assert.deepEqual(await routeChanges(a, seen), []);
    });

    test('client registry: register returns the previous node; unregister leaves a moved client', async (t) => {
      const be = await factory(t);
      const [a, b] = [await be.store(), await be.store()];
      assert.equal(await a.registerClient('c1', 'n1'), undefined);
      assert.equal(await a.registerClient('c1', 'n1'), undefined, 'the same node is not a previous one');
      assert.equal(await b.registerClient('c1', 'n2'), 'n1');
      assert.equal(await a.lookupClient('c1'), 'n2');
      assert.equal(await a.lookupClient('nobody'), undefined);
      await a.unregisterClient('c1', 'n1'); // it moved to n2: stays
      assert.equal(await b.lookupClient('c1'), 'n2');
      await b.unregisterClient('c1', 'n2');
      assert.equal(await a.lookupClient('c1'), undefined);
      await b.unregisterClient('c1', 'n2'); // absent: harmless

      // Concurrent registrations form one chain: each sees the one applied just before it.
      const nodes = Array.from({ length: 10 }, (_, i) => `r${i}`);
      const stores = [a, b];
      const prevs = await Promise.all(nodes.map((n, i) => stores[i % 2]!.registerClient('c2', n)));
      const last = await a.lookupClient('c2');
      const defined = prevs.filter((p): p is string => p !== undefined);
      assert.equal(prevs.length - defined.length, 1, `exactly one first registration: ${prevs}`);
      assert.equal(new Set(defined).size, defined.length, `no previous node reported twice: ${prevs}`);
      assert.deepEqual([...defined, last].sort(), [...nodes].sort());

      assert.deepEqual(await a.registerClients(['x1', 'x2', 'c1'], 'n3'), [], 'none was registered elsewhere');
      assert.deepEqual(await a.registerClients([], 'n3'), []);
      assert.deepEqual(await Promise.all(['x1', 'x2', 'c1'].map((id) => b.lookupClient(id))), ['n3', 'n3', 'n3']);
      // registered elsewhere meanwhile (live on two nodes): reported with the node replaced
      assert.deepEqual(await b.registerClients(['x1', 'x3', 'x2'], 'n4'), [
        { clientid: 'x1', prev: 'n3' },
        { clientid: 'x2', prev: 'n3' },
      ]);
      assert.deepEqual(await b.registerClients(['x1'], 'n4'), [], 'already here: no conflict');
    });

    test('retained: set, replace, delete, get-all with binary values, and change notifications', async (t) => {
      const be = await factory(t);
      const [a, b] = [await be.store(), await be.store()];
      const seenA = retainedRecorder(a);
      const seenB = retainedRecorder(b);
      const every = Uint8Array.from({ length: 256 }, (_, i) => i);
      const reversed = every.slice().reverse();
      const big = randomBytes(256 * 1024);
      const mutable = new Uint8Array([1, 2, 3]);

      await a.setRetained('r/1', every);
      await a.setRetained('r/ü', mutable);
      mutable[0] = 99; // the store kept its own copy
      await b.setRetained('r/big', big);
      await b.setRetained('r/1', reversed);
      await a.setRetained('r/absent', null); // nothing deleted: nothing announced
      await a.setRetained('r/big', null);
      const expected: RetainedSeen = [
        { topic: 'r/1', value: hex(every) },
        { topic: 'r/ü', value: '010203' },
        { topic: 'r/big', value: hex(big) },
        { topic: 'r/1', value: hex(reversed) },
        { topic: 'r/big', value: null },
      ];
      assert.deepEqual(await retainedChanges(a, seenB), expected);
      assert.deepEqual(await retainedChanges(b, seenA), expected);
      assert.deepEqual(await retainedTable(b), { 'r/1': hex(reversed), 'r/ü': '010203' });
      await b.setRetained('r/1', null);
      await b.setRetained('r/ü', null);
      assert.deepEqual(await retainedChanges(a, seenB), [
        { topic: 'r/1', value: null },
        { topic: 'r/ü', value: null },
      ]);
      assert.deepEqual(await retainedTable(a), {});
    });

    test('config apps: create/update/delete booleans, sorted list, announced to every instance', async (t) => {
      const be = await factory(t);
      const [a, b] = [await be.store(), await be.store()];
      const seenA = configRecorder(a);
      const seenB = configRecorder(b);
      // Each step's changes reach both instances (the writer included) within a second.
      const step = async (expected: ConfigKind[]) => {
        assert.deepEqual(await configChanges(a, 'banned', seenA, seenB), [expected, expected]);
      };
      assert.deepEqual(await a.configList('apps'), []);

      const x = app('x');
      const m = app('m', { name: 'Mé', desc: 'ü €', status: false, expired: 1_900_000_000 });
      assert.equal(await a.configPut('apps', x, 'create'), true);
      assert.equal(await b.configPut('apps', m, 'create'), true);
      await step(['apps', 'apps']);
      assert.deepEqual(await appsOf(b), [m, x], 'sorted by appid');

      // Nothing changes, nothing is announced.
      assert.equal(await b.configPut('apps', { ...x, name: 'other' }, 'create'), false, 'create over an existing app');
      assert.equal(await a.configPut('apps', app('absent'), 'update'), false, 'update of an absent app');
      assert.equal(await a.configDelete('apps', 'absent'), false);
      await step([]);
      assert.deepEqual(await appsOf(a), [m, x]);

      const x2 = app('x', { name: 'renamed', secretHash: 'sha256:n3w:00ff', status: false, expired: 1_800_000_000 });
      assert.equal(await b.configPut('apps', x2, 'update'), true);
      await step(['apps']);
      assert.deepEqual(await appsOf(a), [m, x2]);

      // Records are copied in and out.
      const c = app('c');
      assert.equal(await a.configPut('apps', { ...c, extra: 'dropped' } as AppRecord, 'create'), true);
      c.name = 'mutated';
      (await a.configList('apps'))[0]!.name = 'mutated too';
      assert.deepEqual(await appsOf(b), [app('c'), m, x2]);

      assert.equal(await a.configDelete('apps', 'x'), true);
      assert.equal(await b.configDelete('apps', 'x'), false);
      await step(['apps', 'apps']);
      assert.deepEqual(await appsOf(b), [app('c'), m]);

      // Concurrent creates of one appid: exactly one wins, and its record is the one stored.
      const stores = [a, b];
      const created = await Promise.all(
        Array.from({ length: 10 }, (_, i) => stores[i % 2]!.configPut('apps', app('race', { name: `n${i}` }), 'create')),
      );
      assert.equal(created.filter(Boolean).length, 1, `created: ${created}`);
      const winner = created.indexOf(true);
      await step(['apps']);
      assert.deepEqual((await appsOf(a)).find((r) => r.appid === 'race'), app('race', { name: `n${winner}` }));
    });

    test('config banned: add, replace, delete, list order, purge of expired, announced to every instance', async (t) => {
      const be = await factory(t);
      const [a, b] = [await be.store(), await be.store()];
      const seenA = configRecorder(a);
      const seenB = configRecorder(b);
      const step = async (expected: ConfigKind[]) => {
        assert.deepEqual(await configChanges(b, 'apps', seenA, seenB), [expected, expected]);
      };
      assert.deepEqual(await a.configList('banned'), []);

      const far = 4_000_000_000;
      const added = [
        ban('username', 'u2', far),
        ban('clientid', 'c/ü', far),
        ban('peerhost', '::1', far), // colons in `who`
        ban('clientid', 'a b', far),
        ban('username', 'u1', far),
        ban('peerhost', '10.0.0.1', far),
        ban('clientid', 'c:colon', far, 'why'),
      ];
      for (const [i, e] of added.entries()) await [a, b][i % 2]!.configPut('banned', e, 'upsert');
      await step(Array(added.length).fill('banned'));
      // By `as`, then `who` (UTF-16 code units: '/' < ':').
      const sorted = ['clientid a b', 'clientid c/ü', 'clientid c:colon', 'peerhost 10.0.0.1', 'peerhost ::1', 'username u1', 'username u2'];
      assert.deepEqual((await bannedOf(b)).map((e) => `${e.as} ${e.who}`), sorted);
      assert.deepEqual((await bannedOf(a)).find((e) => e.who === 'c:colon'), ban('clientid', 'c:colon', far, 'why'));

      // Adding the same as/who replaces; the same who under another `as` is another entry.
      const again: BannedEntry = { who: 'a b', as: 'clientid', reason: 'again', by: 'api', at: 2_000, until: far + 1 };
      await b.configPut('banned', { ...again, extra: 'dropped' } as BannedEntry, 'upsert');
      await a.configPut('banned', ban('username', 'a b', far), 'upsert');
      await step(['banned', 'banned']);
      const list = await bannedOf(a);
      assert.equal(list.length, added.length + 1);
      assert.deepEqual(list[0], again);
      assert.deepEqual(list.map((e) => `${e.as} ${e.who}`), [...sorted.slice(0, 5), 'username a b', ...sorted.slice(5)]);
      list[0]!.reason = 'mutated'; // a copy
      assert.equal((await a.configList('banned'))[0]!.reason, 'again');

      assert.equal(await a.configDelete('banned', bannedKey('username', 'u2')), true);
      assert.equal(await b.configDelete('banned', bannedKey('username', 'u2')), false);
      assert.equal(await b.configDelete('banned', bannedKey('peerhost', 'u1')), false, 'another `as`');
      assert.equal(await b.configDelete('banned', bannedKey('peerhost', '::1')), true);
      await step(['banned', 'banned']);
      assert.deepEqual((await bannedOf(b)).map((e) => `${e.as} ${e.who}`), [
        'clientid a b',
        'clientid c/ü',
        'clientid c:colon',
        'peerhost 10.0.0.1',
        'username a b',
        'username u1',
      ]);

      // In force while until > now: until == now is expired too.
      await a.configPut('banned', ban('clientid', 'old', 1_500), 'upsert');
      await a.configPut('banned', ban('username', 'now', 2_000), 'upsert');
      await a.configPut('banned', ban('peerhost', '10.0.0.2', 2_001), 'upsert');
      await step(['banned', 'banned', 'banned']);
      assert.equal(await b.configPurgeExpired('banned', 2_000), 2);
      await step(['banned']); // one announcement per purge
      const left = await bannedOf(a);
      assert.deepEqual(
        left.map((e) => `${e.as} ${e.who}`),
        ['clientid a b', 'clientid c/ü', 'clientid c:colon', 'peerhost 10.0.0.1', 'peerhost 10.0.0.2', 'username a b', 'username u1'],
      );
      assert.equal(await a.configPurgeExpired('banned', 2_000), 0);
      await step([]);
      assert.equal(await a.configPurgeExpired('banned', far + 0.5), left.length - 1, 'all but the one until far + 1');
      await step(['banned']);
      assert.deepEqual(await bannedOf(b), [again]);
    });

    test('config: every put mode on every kind, a purge only for a kind with an expiry, records of their kind only', async (t) => {
      assert.deepEqual(CONFIG_KINDS, ['apps', 'banned', 'feature_states', 'topic_metrics', 'resources', 'rules', 'telemetry', 'data_files', 'users']);
      const be = await factory(t);
      const [a, b] = [await be.store(), await be.store()];
      const seenA = configRecorder(a);
      const seenB = configRecorder(b);
      const samples: { [K in ConfigKind]: (v: string) => ConfigRecord<K> } = {
        apps: (v) => app('k', { name: v }),
        banned: (v) => ban('clientid', 'k', 4_000_000_000, v),
        // the key is all of a record but `active`: odd samples on, even ones off
        feature_states: (v) => ({ feature: 'k', scope: '*', active: Number(v) % 2 === 1 }),
        topic_metrics: (v) => ({ topic: 'k', create_time: 1_000 + Number(v) }),
        resources: (v) => ({ id: 'resource:k', type: 'web_hook', config: { url: `http://h/${v}`, headers: { a: v } }, description: v, created_at: 1_000 }),
        rules: (v) => ({ id: 'k', rawsql: 'SELECT * FROM "t"', for: ['t'], actions: [], description: v, enabled: true, created_at: 1_000 }),
        telemetry: (v) => ({ key: 'k', enabled: Number(v) % 2 === 1, uuid: `u${v}` }),
        data_files: (v) => ({ filename: 'k', created_at: 1_000, content: v }),
        users: (v) => ({ username: 'k', passwordHash: `sha256:s:${v}`, tags: v }),
      };
      const keys: Record<ConfigKind, string> = {
        apps: 'k',
        banned: bannedKey('clientid', 'k'),
        feature_states: featureStateKey('*', 'k'),
        topic_metrics: 'k',
        resources: 'resource:k',
        rules: 'k',
        telemetry: 'k',
        data_files: 'k',
        users: 'k',
      };
      const each = async <K extends ConfigKind>(kind: K) => {
        const other = CONFIG_KINDS.find((k) => k !== kind)!;
        const step = async (expected: ConfigKind[]) => {
          assert.deepEqual(await configChanges(b, other, seenA, seenB), [expected, expected], kind);
        };
        const sample = samples[kind] as (v: string) => ConfigRecord<K>;
        const list = async () => (await a.configList(kind)).filter((r) => !JSON.stringify(r).includes(BARRIER_ID));
        assert.equal(await a.configPut(kind, sample('1'), 'update'), false, `${kind}: update of an absent record`);
        assert.equal(await a.configPut(kind, sample('1'), 'create'), true, `${kind}: create`);
        assert.equal(await b.configPut(kind, sample('2'), 'create'), false, `${kind}: create over an existing record`);
        await step([kind]);
        assert.deepEqual(await list(), [sample('1')]);
        assert.equal(await b.configPut(kind, sample('3'), 'upsert'), true, `${kind}: upsert of an existing record`);
        assert.equal(await a.configPut(kind, sample('4'), 'update'), true, `${kind}: update`);
        await step([kind, kind]);
        assert.deepEqual(await list(), [sample('4')]);
        assert.equal(await a.configDelete(kind, keys[kind]), true);
        assert.equal(await b.configPut(kind, sample('5'), 'upsert'), true, `${kind}: upsert of an absent record`);
        await step([kind, kind]);
        assert.deepEqual(await list(), [sample('5')]);
        // Not a record of the kind: refused, nothing stored or announced.
        await assert.rejects(a.configPut(kind, { appid: 'half' } as unknown as ConfigRecord<K>, 'upsert'), /not a valid/);
        await step([]);
        assert.deepEqual(await list(), [sample('5')]);
      };
      await each('apps');
      await each('banned');
      await each('feature_states');
      await each('topic_metrics');
      await each('users');
      await assert.rejects(a.configPurgeExpired('apps', 2_000), /apps has no expiry/);
      await assert.rejects(a.configPurgeExpired('banned', NaN), /finite/);
    });
  });
}

// ---- MemoryStore ----

contract('MemoryStore', async (t) => {
  const state = new MemoryStoreState();
  return backend(t, () => new MemoryStore({ state }));
});

// ---- RedisStore ----

let redis: Service | undefined;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

let prefixes = 0;
contract('RedisStore', async (t) => {
  const prefix = `starling-test-${process.pid}-${++prefixes}`;
  return backend(t, () => new RedisStore({ url: redis!.url, prefix }));
});

describe('RedisStore: the key layout', () => {
  test('every table keeps the keys and channels of before, so a cluster upgrades without migrating data', async (t) => {
    const prefix = `starling-layout-${process.pid}`;
    const raw = new Redis(redis!.url);
    t.after(() => raw.quit());
    const be = backend(t, () => new RedisStore({ url: redis!.url, prefix }));
    const s = await be.store();
    const P = `${prefix}:`;

    await s.heartbeat({ name: 'n1', heartbeatAt: 2, startedAt: 1 }, 1_000);
    await s.claimPurge('dead', 'n1', 10_000);
    await addRoute(s, 'n1', 't/#');
    await s.registerClient('c1', 'n1');
    await s.setRetained('r/1', new Uint8Array([1, 2]));
    await s.configPut('apps', app('x'), 'create');
    await s.configPut('banned', ban('peerhost', '::1', 4_000_000_000), 'upsert');
    assert.deepEqual(JSON.parse((await raw.hget(`${P}nodes`, 'n1'))!), { name: 'n1', heartbeatAt: 2, startedAt: 1 });
    assert.equal(await raw.get(`${P}purge:dead`), 'n1');
    assert.deepEqual(await raw.smembers(`${P}routes:n1`), ['t/#']);
    assert.equal(await raw.hget(`${P}clients`, 'c1'), 'n1');
    assert.equal(hex((await raw.hgetBuffer(`${P}retained`, 'r/1'))!), '0102');
    assert.deepEqual(JSON.parse((await raw.hget(`${P}apps`, 'x'))!), app('x'));
    assert.deepEqual(JSON.parse((await raw.hget(`${P}banned`, 'peerhost:::1'))!), ban('peerhost', '::1', 4_000_000_000));
    await addRoute(s, 'n1', '$share/g/t');
    await setSharedMembers(s, 'n1', '$share/g/t', 2);
    assert.equal(await raw.hget(`${P}shared-members:n1`, '$share/g/t'), '2', 'a shared member count beside the route set');

    // Records and notices written as a node of before writes them are read and told.
    const routeSeen = routeRecorder(s);
    await raw.publish(`${P}routes`, JSON.stringify({ op: 'add', node: 'old', filter: 'o/+', members: 2 }));
    await raw.publish(`${P}routes`, JSON.stringify({ node: 'new', changes: [['add', 'n/1'], ['delete', 'n/1'], ['add', '$share/g/n', 3]] }));
    await raw.publish(`${P}routes`, JSON.stringify({ node: 'new', changes: [['bogus', 'x']] })); // malformed: ignored
    await until('route notices published by hand', () => routeSeen.length >= 4, 1_000);
    assert.deepEqual(routeSeen, [
      { op: 'add', node: 'old', filter: 'o/+', members: 2 },
      { op: 'add', node: 'new', filter: 'n/1' },
      { op: 'delete', node: 'new', filter: 'n/1' },
      { op: 'add', node: 'new', filter: '$share/g/n', members: 3 },
    ]);
    const seen = configRecorder(s);
    await raw.hset(`${P}banned`, 'username:u1', JSON.stringify(ban('username', 'u1', 4_000_000_000)));
    await raw.publish(`${P}config`, 'banned');
    await until('a config notice published by hand', () => seen.includes('banned'), 1_000);
    assert.deepEqual((await s.configList('banned')).map((e) => `${e.as} ${e.who}`), ['peerhost ::1', 'username u1']);
  });
});

describe('RedisStore: an absent or failing Redis', () => {
  test('start() rejects with a clear error when Redis cannot be reached', async () => {
    const port = await freePort();
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, startTimeoutMs: 700 });
    const began = Date.now();
    await assert.rejects(store.start(), new RegExp(`no connection to Redis at redis://127\\.0\\.0\\.1:${port}/? within 700 ms`));
    assert.ok(Date.now() - began < 2_000, `took ${Date.now() - began} ms`);
    assert.equal(store.connected, false);
    await assert.rejects(store.nodes(), /closed/);
    await store.close();
  });

  test('killed Redis: calls reject quickly; after a restart onReconnect fires and notifications flow', async (t) => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    t.after(() => process.off('unhandledRejection', onUnhandled));

    const own = await startRedis(); // not the shared one: this test kills it
    t.after(() => own.stop('SIGKILL'));
    const be = backend(t, () => new RedisStore({ url: own.url, prefix: 'outage' }));
    const [a, b] = [await be.store(), await be.store()];
    const seenA = routeRecorder(a);
    const seenB = routeRecorder(b);
    const retainedB = retainedRecorder(b);
    const configB = configRecorder(b);
    let reconnectsB = 0;
    b.onReconnect(() => reconnectsB++);
    // Once a's callback runs, its subscription is back: a change made right there is seen.
    let reconnectsA = 0;
    let addedOnReconnect: Promise<void> | undefined;
    a.onReconnect(() => {
      reconnectsA++;
      addedOnReconnect = addRoute(a, 'n1', 'after/reconnect');
    });
    await addRoute(a, 'n1', 'before');
    assert.deepEqual(await routeChanges(a, seenB), ['add n1 before']);
    assert.deepEqual(await routeChanges(b, seenA), ['add n1 before']);

    await own.stop('SIGKILL');
    const everyCall: [string, () => Promise<unknown>][] = [
      ['heartbeat', () => a.heartbeat({ name: 'n1', heartbeatAt: 1, startedAt: 1 }, 1_000)],
      ['deregister', () => a.deregister('n1')],
      ['nodes', () => a.nodes()],
      ['claimPurge', () => a.claimPurge('n2', 'n1', 1_000)],
      ['purgeNode', () => a.purgeNode('n2')],
      ['addRoute', () => addRoute(a, 'n1', 'x')],
      ['deleteRoute', () => deleteRoute(a, 'n1', 'x')],
      ['setRoutes', () => a.setRoutes('n1', ['x'])],
      ['routes', () => a.routes()],
      ['registerClient', () => a.registerClient('c', 'n1')],
      ['unregisterClient', () => a.unregisterClient('c', 'n1')],
      ['lookupClient', () => a.lookupClient('c')],
      ['registerClients', () => a.registerClients(['c'], 'n1')],
      ['setRetained', () => a.setRetained('t', new Uint8Array([1]))],
      ['retained', () => a.retained()],
      ['configList(apps)', () => a.configList('apps')],
      ['configPut(apps)', () => a.configPut('apps', app('a'), 'create')],
      ['configDelete(apps)', () => a.configDelete('apps', 'a')],
      ['configList(banned)', () => a.configList('banned')],
      ['configPut(banned)', () => a.configPut('banned', ban('clientid', 'c', 4_000_000_000), 'upsert')],
      ['configDelete(banned)', () => a.configDelete('banned', bannedKey('clientid', 'c'))],
      ['configPurgeExpired(banned)', () => a.configPurgeExpired('banned', 2_000)],
    ];
    // Right after the kill (the loss may not be noticed yet), then once it has been.
    for (const round of ['at once', 'once noticed']) {
      if (round === 'once noticed') await until('a and b to notice the loss', () => !a.connected && !b.connected, 2_000);
      const began = Date.now();
      const results = await Promise.allSettled(everyCall.map(([, call]) => call()));
      const took = Date.now() - began;
      results.forEach((r, i) => assert.equal(r.status, 'rejected', `${everyCall[i]![0]} (${round}) should reject`));
      assert.ok(took < 2_000, `calls (${round}) took ${took} ms to reject`);
    }
    assert.equal(reconnectsA + reconnectsB, 0);

    await own.start(); // same port, empty
    await until('onReconnect on both stores', () => reconnectsA === 1 && reconnectsB === 1, 5_000);
    assert.ok(a.connected && b.connected);
    await addedOnReconnect;
    assert.deepEqual(await routeChanges(b, seenA), ['add n1 after/reconnect']);
    await b.setRetained('back', new Uint8Array([0, 255]));
    await until('the retained change after the restart', () => retainedB.some((c) => c.topic === 'back'));
    assert.deepEqual(retainedB, [{ topic: 'back', value: '00ff' }]);
    assert.equal(await a.configPut('apps', app('back'), 'create'), true);
    await until('the config change after the restart', () => configB.length > 0, 1_000);
    assert.deepEqual(configB, ['apps']);
    assert.deepEqual(await table(a), ['n1 after/reconnect']);
    assert.deepEqual(unhandled, []);
  });

  test('a connection the client library ends on its own (as during a Sentinel switch) is connected again', async (t) => {
    // ioredis gives a connection up for good when a +switch-master arrives while it waits
    // between sentinel rounds; disconnect() from outside ends it the same way (status end).
    const conn = new RedisConnection({ url: redis!.url, prefix: `ended-${process.pid}` });
    t.after(() => conn.close());
    let heard = 0;
    conn.listen(`ended-${process.pid}:probe`, () => heard++);
    let reconnects = 0;
    conn.onReconnect(() => reconnects++);
    await conn.start();
    const sub = (conn as unknown as { sub: Redis }).sub;
    for (const [role, c] of [['command', conn.cmd], ['subscriber', sub]] as const) {
      const before = reconnects;
      c.disconnect();
      await until(`the ${role} connection to end`, () => c.status === 'end');
      assert.equal(conn.connected, false);
      await until(`the ${role} connection back, onReconnect run`, () => conn.connected && reconnects === before + 1, 5_000);
    }
    await conn.cmd.publish(`ended-${process.pid}:probe`, 'x');
    await until('a notification after both came back', () => heard === 1);
  });
});
