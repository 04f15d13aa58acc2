// Routes of dead nodes kept for their persistent sessions (node/cluster/ghost-routes.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GhostRoutes } from '../../node/cluster/ghost-routes.js';

const nodesFor = (g: GhostRoutes, topic: string, live: (filter: string) => boolean = () => false): string[] => {
  const out: string[] = [];
  g.match(topic, live, (n) => out.push(n));
  return out.sort();
};

test('a kept route matches its topics until it expires, and goes once its filter is live again', () => {
  const g = new GhostRoutes();
  assert.ok(g.empty);
  const later = Date.now() + 60_000;
  g.add('a/+', 'n1', later);
  g.add('a/#', 'n2', later);
  g.add('b', 'n1', Date.now() - 1);
  assert.deepEqual(nodesFor(g, 'a/x'), ['n1', 'n2']);
  assert.deepEqual(nodesFor(g, 'c'), []);
  assert.deepEqual(nodesFor(g, 'b'), [], 'expired');
  // a live route for the same filter: the session is back, the kept route goes
  assert.deepEqual(nodesFor(g, 'a/x', (f) => f === 'a/+'), ['n2']);
  assert.deepEqual(nodesFor(g, 'a/x'), ['n2']);
});

test('retain() keeps what persistent sessions need; dropNode() forgets a node that came back', () => {
  const g = new GhostRoutes();
  const later = Date.now() + 60_000;
  g.add('p/1', 'n1', later);
  g.add('c/1', 'n1', later);
  g.add('p/1', 'n2', later);
  g.retain((filter) => filter.startsWith('p/'));
  assert.deepEqual(nodesFor(g, 'c/1'), []);
  assert.deepEqual(nodesFor(g, 'p/1'), ['n1', 'n2']);
  g.dropNode('n1');
  assert.deepEqual(nodesFor(g, 'p/1'), ['n2']);
  g.dropNode('n2');
  assert.ok(g.empty);
});
