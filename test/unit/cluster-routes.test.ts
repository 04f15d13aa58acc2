// node/cluster/routes.ts: the other nodes' routes, shared groups with each node's member count.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterRoutes } from '../../node/cluster/routes.js';

const groupOf = (r: ClusterRoutes, topic: string): [string, number][] => [...(r.match(topic)[0]?.groups?.get('g') ?? [])];

describe('ClusterRoutes shared member counts', () => {
  it('a route counts one member until told more; counts change in place, go with the route and survive load', () => {
    const r = new ClusterRoutes('self');
    r.apply({ op: 'add', node: 'a', filter: '$share/g/t' });
    r.apply({ op: 'add', node: 'b', filter: '$share/g/t' });
    r.apply({ op: 'add', node: 'self', filter: '$share/g/t', members: 5 }); // our own: the local router
    assert.deepEqual(groupOf(r, 't'), [['a', 1], ['b', 1]]);
    r.apply({ op: 'add', node: 'b', filter: '$share/g/t', members: 3 });
    r.apply({ op: 'add', node: 'a', filter: '$share/g/t' }); // a repeated add keeps the count known
    r.apply({ op: 'add', node: 'b', filter: '$share/g/t' });
    assert.deepEqual(groupOf(r, 't'), [['a', 1], ['b', 3]]);
    assert.equal(r.size, 2);
    const rows = r.rows();
    assert.deepEqual(rows, [
      { node: 'a', filter: '$share/g/t', members: 1 },
      { node: 'b', filter: '$share/g/t', members: 3 },
    ]);
    r.apply({ op: 'delete', node: 'b', filter: '$share/g/t' });
    assert.deepEqual(groupOf(r, 't'), [['a', 1]]);
    r.load(rows);
    assert.deepEqual(groupOf(r, 't'), [['a', 1], ['b', 3]]);
    r.removeNode('b');
    r.removeNode('a');
    assert.equal(r.empty, true);
  });
});

describe('ClusterRoutes.load', () => {
  it('builds the same table as applying each route: own routes left out, nodes of one filter merged, repeats counted once', () => {
    const rows = [
      { node: 'a', filter: 'x/+' },
      { node: 'b', filter: 'x/+' },
      { node: 'a', filter: 'x/+' },
      { node: 'self', filter: 'x/y' },
      { node: 'b', filter: '$share/g/x/#', members: 2 },
      { node: 'a', filter: 'x/y' },
    ];
    const loaded = new ClusterRoutes('self');
    loaded.load(rows);
    const applied = new ClusterRoutes('self');
    for (const r of rows) applied.apply({ op: 'add', ...r });
    assert.equal(loaded.size, 4);
    assert.equal(loaded.size, applied.size);
    assert.deepEqual(loaded.rows().sort((p, q) => `${p.node}${p.filter}`.localeCompare(`${q.node}${q.filter}`)), applied.rows().sort((p, q) => `${p.node}${p.filter}`.localeCompare(`${q.node}${q.filter}`)));
    const nodes = (t: string) => loaded.match(t).flatMap((e) => [...e.nodes]).sort();
    assert.deepEqual(nodes('x/y'), ['a', 'a', 'b']);
    assert.deepEqual(nodes('z'), []);
    assert.deepEqual(groupOf(loaded, 'x/q/r'), [['b', 2]]);
  });
});

describe('ClusterRoutes: a dead node routes kept for its persistent sessions', () => {
  const nodesOf = (r: ClusterRoutes, topic: string): string[] => r.match(topic).flatMap((e) => [...e.nodes]);

  it('keeps a dead node ordinary routes through its purge and a reload, not its shared groups; releaseKept drops them after the grace', async () => {
    const r = new ClusterRoutes('self');
    r.keepDeadMs = 60_000;
    r.applyAll([
      { op: 'add', node: 'a', filter: 't/#' },
      { op: 'add', node: 'a', filter: '$share/g/s' },
      { op: 'add', node: 'b', filter: 't/#' },
    ]);
    // the purge's notice comes before this node's heartbeat check found `a` dead
    r.applyAll([
      { op: 'delete', node: 'a', filter: 't/#', purge: true },
      { op: 'delete', node: 'a', filter: '$share/g/s', purge: true },
    ]);
    assert.deepEqual(nodesOf(r, 't/x').sort(), ['a', 'b']);
    assert.equal(r.match('s').length, 0, 'a shared group route is not kept: another member takes the message');
    r.removeNode('a'); // the heartbeat check, later: nothing more
    r.load([{ node: 'b', filter: 't/#' }]); // a reload: the store has no route of `a` any more
    assert.deepEqual(nodesOf(r, 't/x').sort(), ['a', 'b']);
    assert.deepEqual(r.keptNodes().map(([n]) => n), ['a']);
    r.releaseKept('a', 10);
    await new Promise((res) => setTimeout(res, 30));
    assert.deepEqual(nodesOf(r, 't/x'), ['b']);
    assert.deepEqual(r.keptNodes(), []);
    r.stop();
  });

  it('a node back alive is no longer kept; without keepDeadMs, routes go at once', () => {
    const r = new ClusterRoutes('self');
    r.keepDeadMs = 60_000;
    r.apply({ op: 'add', node: 'a', filter: 't' });
    r.removeNode('a');
    r.unkeep('a');
    r.load([{ node: 'a', filter: 'u' }]); // its routes as the store has them now
    assert.deepEqual(nodesOf(r, 't'), []);
    assert.deepEqual(nodesOf(r, 'u'), ['a']);
    const plain = new ClusterRoutes('self');
    plain.apply({ op: 'add', node: 'a', filter: 't' });
    plain.apply({ op: 'delete', node: 'a', filter: 't', purge: true });
    assert.equal(plain.empty, true);
    r.stop();
  });
});
