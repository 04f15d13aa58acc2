// Membership after a store outage (a Redis restart or a Sentinel failover): every other
// node's heartbeat went missing too, through no fault of theirs, so for one TTL they stay
// live and are not purged; a node still silent after that is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';
import type { MembershipTable, NodeRecord } from '../../shared/cluster/store.js';
import { Membership } from '../../node/cluster/membership.js';
import type { ClusterRoutes } from '../../node/cluster/routes.js';
import { sleep } from '../support/wait.js';

const TTL_MS = 300;


/** A membership table over `records`: a heartbeat says whether its node's record was absent (purged). */
function tableOver(records: Map<string, NodeRecord>, purge: (dead: string) => void): MembershipTable {
  return {
    heartbeat: async (n) => {
      const absent = !records.has(n.name);
      records.set(n.name, n);
      return absent;
    },
    deregister: async () => {},
    nodes: async () => [...records.values()],
    claimPurge: async () => true,
    purgeNode: async (dead) => {
      purge(dead);
      return true;
    },
  };
}

test('a store outage does not get the other nodes purged until they had one TTL to heartbeat again', async () => {
  let up = true;
  const records = new Map<string, NodeRecord>();
  const purged: string[] = [];
  const removed: string[] = [];
  const table = tableOver(records, (dead) => {
    purged.push(dead);
    records.delete(dead);
  });
  const store: MembershipTable = {
    ...table,
    heartbeat: async (n, ttlMs) => {
      if (!up) throw new Error('store unreachable');
      return table.heartbeat(n, ttlMs);
    },
  };
  const routes = { removeNode: (n: string) => removed.push(n) } as unknown as ClusterRoutes;
  const cfg = { ...loadConfig({}, []), heartbeatMs: 1_000_000, heartbeatTtlMs: TTL_MS };
  const m = new Membership(store, routes, 'a@h', Date.now(), cfg, createLogger('silent'));
  const tick = () => m['tick']();

  records.set('b@h', { name: 'b@h', heartbeatAt: Date.now(), startedAt: 0 });
  await tick();
  assert.ok(m.isLive('b@h'));

  // the store goes away for longer than the TTL: b's record, when it comes back, is stale
  up = false;
  await tick();
  await sleep(TTL_MS * 2);
  up = true;
  await tick();
  assert.ok(m.isLive('b@h'), 'b stays live just after the outage');
  assert.deepEqual(purged, []);
  assert.deepEqual(removed, []);

  // b never heartbeats again: one TTL later it is dead and purged
  await sleep(TTL_MS + 20);
  await tick();
  assert.ok(!m.isLive('b@h'));
  assert.deepEqual(purged, ['b@h']);
  assert.deepEqual(removed, ['b@h']);
});

test('without an outage a stale node is purged at once', async () => {
  const purged: string[] = [];
  const records = new Map<string, NodeRecord>([['b@h', { name: 'b@h', heartbeatAt: Date.now() - 10 * TTL_MS, startedAt: 0 }]]);
  const store = tableOver(records, (dead) => void purged.push(dead));
  const routes = { removeNode: () => {} } as unknown as ClusterRoutes;
  const cfg = { ...loadConfig({}, []), heartbeatMs: 1_000_000, heartbeatTtlMs: TTL_MS };
  const m = new Membership(store, routes, 'a@h', Date.now(), cfg, createLogger('silent'));
  await m['tick']();
  assert.deepEqual(purged, ['b@h']);
});

test('a node purged while alive writes its state again, and a node dropped as dead that heartbeats again has its routes read back', async () => {
  const records = new Map<string, NodeRecord>();
  const store = tableOver(records, (dead) => void records.delete(dead));
  const removed: string[] = [];
  const routes = { removeNode: (n: string) => removed.push(n) } as unknown as ClusterRoutes;
  const cfg = { ...loadConfig({}, []), heartbeatMs: 1_000_000, heartbeatTtlMs: TTL_MS };
  const m = new Membership(store, routes, 'a@h', Date.now(), cfg, createLogger('silent'));
  const events: string[] = [];
  m.events = { purged: () => events.push('purged'), returned: (n) => events.push(`returned ${n}`) };
  const tick = () => m['tick']();
  records.set('b@h', { name: 'b@h', heartbeatAt: Date.now(), startedAt: 0 });
  await tick();
  assert.deepEqual(events, [], 'the first heartbeat writes a new record: not a purge');

  // another node took this one for dead and purged it; b's heartbeat came late meanwhile
  records.delete('a@h');
  records.set('b@h', { name: 'b@h', heartbeatAt: Date.now() - 10 * TTL_MS, startedAt: 0 });
  await tick();
  assert.deepEqual(events, ['purged']);
  assert.deepEqual(removed, ['b@h']);

  // b heartbeats again: it was not dead after all
  records.set('b@h', { name: 'b@h', heartbeatAt: Date.now(), startedAt: 0 });
  await tick();
  assert.ok(m.isLive('b@h'));
  assert.deepEqual(events, ['purged', 'returned b@h']);
  await tick();
  assert.deepEqual(events, ['purged', 'returned b@h'], 'told once');
});
