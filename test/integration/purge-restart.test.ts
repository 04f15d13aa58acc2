// A node that restarts under the same name while a peer purges its former run: the peer read
// the stale record, then the node came back (a new record, then its subscriptions' routes and
// its clients' registrations), then the peer's purge ran. The new routes and registrations
// must stay: the purge is of the run judged dead, not of the name. Run on both stores.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryStore, MemoryStoreState } from '../../shared/cluster/memory-store.js';
import { RedisStore } from '../../shared/cluster/redis-store.js';
import type { ClusterStore } from '../../shared/cluster/store.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';
import { Membership } from '../../node/cluster/membership.js';
import { ClusterRoutes } from '../../node/cluster/routes.js';
import { startRedis, type Service } from '../support/services.js';

const TTL_MS = 3_000;

async function restartDuringPurge(peer: ClusterStore, restarted: ClusterStore): Promise<void> {
  const cfg = { ...loadConfig({}, []), heartbeatMs: 1_000_000, heartbeatTtlMs: TTL_MS };
  // b's former run: heartbeats long stopped, a route and a client of its own left behind
  await restarted.heartbeat({ name: 'b@h', heartbeatAt: Date.now() - 10 * TTL_MS, startedAt: 1 }, TTL_MS);
  await restarted.setRoutes('b@h', ['old/1']);
  await restarted.registerClient('old-client', 'b@h');

  // a's tick judges b dead from the record it read; b starts again before the purge runs
  const claimPurge = peer.claimPurge.bind(peer);
  const racing: ClusterStore = Object.create(peer, {
    claimPurge: {
      value: async (dead: string, by: string, ttlMs: number) => {
        const claimed = await claimPurge(dead, by, ttlMs);
        await restarted.heartbeat({ name: 'b@h', heartbeatAt: Date.now(), startedAt: Date.now() }, TTL_MS);
        await restarted.setRoutes('b@h', []); // cluster start: what the former run left goes
        await restarted.writeRoutes('b@h', [{ op: 'add', filter: 'new/1' }]);
        await restarted.registerClient('new-client', 'b@h');
        return claimed;
      },
    },
  });
  const a = new Membership(racing, new ClusterRoutes('a@h'), 'a@h', Date.now(), cfg, createLogger('silent'));
  await a['tick']();

  assert.deepEqual(
    (await peer.routes()).map((r) => `${r.node} ${r.filter}`),
    ['b@h new/1'],
    "the restarted node's route stays",
  );
  assert.equal(await peer.lookupClient('new-client'), 'b@h', "the restarted node's registration stays");
  assert.ok((await peer.nodes()).some((n) => n.name === 'b@h' && Date.now() - n.heartbeatAt < TTL_MS), "the restarted node's record stays");
  // so b's next heartbeat does not find itself purged (which would cost its routes a round trip)
  assert.equal(await restarted.heartbeat({ name: 'b@h', heartbeatAt: Date.now(), startedAt: 2 }, TTL_MS), false);
}

describe('a node restarted under its name during the purge of its former run', () => {
  test('memory store', async () => {
    const state = new MemoryStoreState();
    const [peer, restarted] = [new MemoryStore({ state }), new MemoryStore({ state })];
    await restartDuringPurge(peer, restarted);
  });

  let redis: Service | undefined;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  test('Redis store', async (t) => {
    const [peer, restarted] = [new RedisStore({ url: redis!.url, prefix: 'purge-restart' }), new RedisStore({ url: redis!.url, prefix: 'purge-restart' })];
    t.after(() => Promise.all([peer.close(), restarted.close()]));
    await Promise.all([peer.start(), restarted.start()]);
    await restartDuringPurge(peer, restarted);
  });
});
