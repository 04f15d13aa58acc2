// node/cluster/route-sync.ts: a node's route writes go to the store in batches, in order,
// one batch in flight at a time; a refused batch is sent again while the store is up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../shared/logger.js';
import type { RouteTable, RouteWrite } from '../../shared/cluster/store.js';
import { RouteSync } from '../../node/cluster/route-sync.js';
import type { Membership } from '../../node/cluster/membership.js';
import type { ClusterRoutes } from '../../node/cluster/routes.js';
import { eventually } from '../support/wait.js';

/** A route table whose writeRoutes calls wait until the test settles them. */
function fakeTable() {
  const calls: { node: string; writes: string[]; settle: (err?: Error) => void }[] = [];
  const table = {
    connected: true as boolean,
    writeRoutes: (node: string, writes: RouteWrite[]) =>
      new Promise<void>((resolve, reject) => {
        const text = writes.map((w) => (w.op === 'members' ? `members ${w.filter} ${w.members}` : `${w.op} ${w.filter}`));
        calls.push({ node, writes: text, settle: (err) => (err ? reject(err) : resolve()) });
      }),
    setRoutes: async () => {},
    routes: async () => [],
    onRouteChanges: () => {},
  } satisfies RouteTable & { connected: boolean };
  return { table, calls };
}

function sync(table: ReturnType<typeof fakeTable>['table'], batchMax = 1000): RouteSync {
  return new RouteSync(table, {} as ClusterRoutes, {} as Membership, 'me', batchMax, createLogger('silent'));
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('RouteSync batches', () => {
  it('sends the writes of one turn in one call, gathers the next ones while it is in flight, and keeps the order', async () => {
    const { table, calls } = fakeTable();
    const s = sync(table);
    s.routeAdded('a');
    s.routeAdded('b');
    s.routeDeleted('a');
    await turn();
    assert.deepEqual(calls.map((c) => [c.node, c.writes]), [['me', ['add a', 'add b', 'delete a']]]);
    s.routeAdded('c');
    s.routeDeleted('b');
    await turn();
    assert.equal(calls.length, 1, 'nothing more while a batch is in flight');
    s.routeAdded('d');
    calls[0]!.settle();
    await eventually(() => assert.equal(calls.length, 2));
    assert.deepEqual(calls[1]!.writes, ['add c', 'delete b', 'add d']);
    calls[1]!.settle();
    await turn();
    await turn();
    assert.equal(calls.length, 2, 'nothing left to send');
  });

  it('writes only the latest member count of a group, after the route writes queued before it', async () => {
    const { table, calls } = fakeTable();
    const s = sync(table);
    s.routeAdded('$share/g/t');
    s.sharedMembersChanged('$share/g/t', 2);
    s.routeDeleted('$share/g/t');
    s.routeAdded('$share/g/t');
    s.sharedMembersChanged('$share/g/t', 3);
    s.sharedMembersChanged('$share/h/t', 1);
    await turn();
    assert.deepEqual(calls[0]!.writes, ['add $share/g/t', 'delete $share/g/t', 'add $share/g/t', 'members $share/g/t 3', 'members $share/h/t 1']);
  });

  it('splits what gathered into batches of STARLING_ROUTE_BATCH_MAX', async () => {
    const { table, calls } = fakeTable();
    const s = sync(table, 2);
    for (const f of ['a', 'b', 'c', 'd', 'e']) s.routeAdded(f);
    await turn();
    for (let i = 0; i < 3; i++) {
      await eventually(() => assert.equal(calls.length, i + 1));
      calls[i]!.settle();
    }
    assert.deepEqual(calls.map((c) => c.writes), [['add a', 'add b'], ['add c', 'add d'], ['add e']]);
  });

  it('sends a batch refused while the store is up again first; drops what is pending while it is away (the resync writes it all)', async () => {
    const { table, calls } = fakeTable();
    const s = sync(table);
    s.routeAdded('a');
    await turn();
    s.routeAdded('b');
    calls[0]!.settle(new Error('Command timed out'));
    await eventually(() => assert.equal(calls.length, 2));
    assert.deepEqual(calls[1]!.writes, ['add a', 'add b']);
    table.connected = false;
    s.routeAdded('c');
    calls[1]!.settle(new Error('Connection is closed'));
    await turn();
    await turn();
    assert.equal(calls.length, 2, 'dropped, not retried');
    table.connected = true;
    s.routeAdded('d');
    await eventually(() => assert.equal(calls.length, 3));
    assert.deepEqual(calls[2]!.writes, ['add d']);
  });

  it('keeps sending a batch refused again and again while the store is up, backing off, and the writes made meanwhile after it', async () => {
    const { table, calls } = fakeTable();
    const s = sync(table);
    s.routeAdded('a');
    for (let i = 0; i < 3; i++) {
      await eventually(() => assert.equal(calls.length, i + 1));
      calls[i]!.settle(new Error('Command timed out'));
      s.routeAdded(`b${i}`);
    }
    await eventually(() => assert.equal(calls.length, 4));
    assert.deepEqual(calls[3]!.writes, ['add a', 'add b0', 'add b1', 'add b2']);
  });
});
