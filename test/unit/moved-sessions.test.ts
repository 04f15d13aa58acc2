// A session moving to another node (node/cluster/moved-sessions.ts): the old node's routes
// held in the store until the new node's are in (route-sync.ts), what still comes for the
// session sent on, and the new node taking each message once (node/session/move-dedup.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RouteTable, RouteWrite } from '../../shared/cluster/store.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';
import { newMessage, type Message } from '../../shared/message.js';
import type { Forwarder, ForwardTarget } from '../../node/cluster/forwarding/transport.js';
import type { Membership } from '../../node/cluster/membership.js';
import { MovedSessions } from '../../node/cluster/moved-sessions.js';
import { RouteSync } from '../../node/cluster/route-sync.js';
import { ClusterRoutes } from '../../node/cluster/routes.js';
import { MoveDedup } from '../../node/session/move-dedup.js';

const log = createLogger('silent');

/** the store's route writes, in order */
function fakeStore(): { store: RouteTable & { connected: boolean }; writes: string[] } {
  const writes: string[] = [];
  const store = {
    connected: true,
    writeRoutes: async (node: string, batch: RouteWrite[]) => {
      for (const w of batch) if (w.op !== 'members') writes.push(`${w.op} ${node} ${w.filter}`);
    },
  } as unknown as RouteTable & { connected: boolean };
  return { store, writes };
}

function setUp(graceMs = 60_000) {
  const { store, writes } = fakeStore();
  const routes = new ClusterRoutes('n1');
  const sync = new RouteSync(store, routes, {} as Membership, 'n1', 1000, log);
  const sent: [string, ForwardTarget, string][] = [];
  const transport = {
    forward: (node: string, target: ForwardTarget, msg: Message) => sent.push([node, target, msg.topic]) > 0,
  } as unknown as Forwarder;
  const cfg = loadConfig({}, [], { sessionMoveGraceMs: graceMs });
  const moved = new MovedSessions(sync, routes, transport, cfg, log);
  return { writes, routes, sync, sent, moved };
}

const msg = (topic: string, payload = 'p', timestamp = 1): Message => newMessage({ topic, payload: Buffer.from(payload), qos: 1, retain: false, from: 'pub', timestamp });
const settle = () => new Promise((r) => setImmediate(r));

describe('RouteSync holds', () => {
  it('a held key is deleted from the store on release, not before; one added again meanwhile is not deleted', async () => {
    const { writes, sync } = setUp();
    sync.hold(['a', 'b']);
    sync.routeDeleted('a');
    sync.routeDeleted('b');
    sync.routeAdded('b');
    await settle();
    assert.deepEqual(writes, ['add n1 b']);
    sync.release(['a', 'b']);
    await settle();
    assert.deepEqual(writes, ['add n1 b', 'delete n1 a']);
    sync.routeDeleted('a'); // no hold left: at once
    await settle();
    assert.deepEqual(writes.at(-1), 'delete n1 a');
  });

  it('a key held twice waits for both releases', async () => {
    const { writes, sync } = setUp();
    sync.hold(['a']);
    sync.hold(['a']);
    sync.routeDeleted('a');
    sync.release(['a']);
    await settle();
    assert.deepEqual(writes, []);
    sync.release(['a']);
    await settle();
    assert.deepEqual(writes, ['delete n1 a']);
  });
});

describe('MovedSessions', () => {
  it("keeps the old node's route until the new node's is in the store, and sends on what matches the session", async () => {
    const { writes, sync, sent, moved } = setUp();
    moved.add('c', 'n2', ['s/+', 'x']);
    sync.routeDeleted('s/+'); // the session ended here
    sync.routeDeleted('x');
    assert.equal(moved.matches('s/1'), true);
    assert.equal(moved.matches('other'), false);
    assert.equal(moved.forward(msg('s/1')), 1);
    assert.deepEqual(sent, [['n2', { kind: 'session', clientid: 'c' }, 's/1']]);
    moved.routeChanged({ op: 'add', node: 'n3', filter: 's/+' }); // another node's: no matter
    moved.routeChanged({ op: 'add', node: 'n2', filter: 's/+' });
    await settle();
    assert.deepEqual(writes, [], "one of the new node's routes is not in yet");
    moved.routeChanged({ op: 'add', node: 'n2', filter: 'x' });
    await settle();
    assert.deepEqual(writes, ['delete n1 s/+', 'delete n1 x']);
    assert.equal(moved.forward(msg('x')), 1, 'late messages still go on after the release');
    assert.equal(moved.forwardSession('c', msg('x')), true);
    assert.equal(moved.forwardSession('d', msg('x')), false);
  });

  it("releases at once a route the new node had already; a client back here stops the sending on but keeps a held route for the grace", async () => {
    const { writes, sync, routes, moved } = setUp(20);
    routes.apply({ op: 'add', node: 'n2', filter: 'a' });
    moved.add('c', 'n2', ['a']);
    sync.routeDeleted('a');
    await settle();
    assert.deepEqual(writes, ['delete n1 a']);

    moved.add('d', 'n2', ['b']);
    sync.routeDeleted('b');
    moved.forget('d');
    assert.equal(moved.forward(msg('b')), 0);
    await settle();
    assert.deepEqual(writes, ['delete n1 a'], 'held while the session comes back here');
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(writes, ['delete n1 a', 'delete n1 b'], 'it did not subscribe again: released after the grace');
  });
});

describe('MoveDedup', () => {
  it('takes each message once; what it saw goes along to the next node', () => {
    const d = new MoveDedup(Date.now() + 1000);
    assert.equal(d.first(msg('t', 'a')), true);
    assert.equal(d.first(msg('t', 'a')), false, 'the same message again');
    assert.equal(d.first(msg('t', 'b')), true, 'another payload');
    assert.equal(d.first(msg('t', 'a', 2)), true, 'accepted at another time');
    assert.equal(d.first(msg('u', 'a')), true, 'another topic');
    const next = new MoveDedup(Date.now() + 1000, d.keys());
    assert.equal(next.first(msg('t', 'b')), false);
    assert.equal(next.first(msg('t', 'c')), true);
  });
});
