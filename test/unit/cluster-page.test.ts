// GET /api/v4/clients pages across nodes, through a real gateway over fake nodes whose
// client lists the test sets: a page asks for the slices the counts of the previous page
// of the same list place, together with the counts (one round of calls, not two), and a
// page whose nodes' counts moved meanwhile is still exactly the rows the new counts place.
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { RequestHandler } from '../../shared/cluster/rpc-transport.js';
import { startFakeCluster, type FakeCluster } from '../support/fake-nodes.js';
import { api } from '../support/gateway.js';

const NODES = ['a@host', 'b@host', 'c@host'];

describe('cluster-wide pages', () => {
  let fake: FakeCluster;
  /** each node's client ids, in its own order */
  const lists = new Map(NODES.map((n) => [n, Array.from({ length: 5 }, (_, i) => `${n[0]}${i}`)]));
  /** what the nodes were asked and answered, in order */
  let events: string[] = [];
  const handler =
    (node: string): RequestHandler =>
    async (method, params) => {
      const ids = lists.get(node)!;
      if (method === 'clients.count') {
        events.push(`count ${node}`);
        await tick(); // the answer comes later than the request: another request may go out meanwhile
        events.push(`counted ${node}`);
        return ids.length;
      }
      if (method === 'clients.list') {
        const { offset, limit } = params as { offset: number; limit: number };
        events.push(`list ${node} ${offset} ${limit}`);
        return ids.slice(offset, offset + limit).map((clientid) => ({ node, clientid }));
      }
      throw new Error(`unexpected ${method}`);
    };

  before(async () => {
    fake = await startFakeCluster(NODES.map((name) => ({ name, handler: handler(name) })));
  });
  after(() => fake?.close());

  async function page(p: number, limit: number, query = ''): Promise<{ ids: string[]; count: number }> {
    events = [];
    const r = await api(fake.base, 'GET', `/api/v4/clients?_page=${p}&_limit=${limit}${query}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.code, 0);
    return { ids: (r.body.data as { clientid: string }[]).map((row) => row.clientid), count: r.body.meta.count };
  }
  const asked = () => events.filter((e) => e.startsWith('list '));
  /** whether a slice was asked for before every count had been answered (one round of calls) */
  const oneRound = () => events.findIndex((e) => e.startsWith('list ')) < Math.max(...events.map((e, i) => (e.startsWith('counted ') ? i : -1)));

  it('asks for the counts, then the slices, on the first page of a list', async () => {
    assert.deepEqual(await page(2, 4), { ids: ['a4', 'b0', 'b1', 'b2'], count: 15 });
    assert.deepEqual(asked(), ['list a@host 4 1', 'list b@host 0 3']);
    assert.equal(oneRound(), false);
  });

  it('asks for the counts and the slices they placed last time together', async () => {
    assert.deepEqual(await page(2, 4), { ids: ['a4', 'b0', 'b1', 'b2'], count: 15 });
    assert.deepEqual(asked(), ['list a@host 4 1', 'list b@host 0 3']);
    assert.equal(oneRound(), true);
    // another page of the same list: its slices are placed by the same counts
    assert.deepEqual(await page(4, 4), { ids: ['c2', 'c3', 'c4'], count: 15 });
    assert.deepEqual(asked(), ['list c@host 2 3']);
    assert.equal(oneRound(), true);
  });

  it('asks again for the slices counts that moved place otherwise, and returns only the rows they place', async () => {
    lists.get('a@host')!.push('a5', 'a6');
    assert.deepEqual(await page(2, 4), { ids: ['a4', 'a5', 'a6', 'b0'], count: 17 });
    // the guessed slices (a 4 1, b 0 3), then the right ones
    assert.deepEqual(asked(), ['list a@host 4 1', 'list b@host 0 3', 'list a@host 4 3', 'list b@host 0 1']);
    // a node that lost clients before the page: the page moves onto the next node
    lists.get('a@host')!.splice(0, 3);
    assert.deepEqual(await page(2, 4), { ids: ['b0', 'b1', 'b2', 'b3'], count: 14 });
    assert.deepEqual(await page(2, 4), { ids: ['b0', 'b1', 'b2', 'b3'], count: 14 });
    assert.deepEqual(asked(), ['list b@host 0 4']);
    assert.equal(oneRound(), true);
  });

  it('keeps the counts of each query apart', async () => {
    // a query not asked before: counts first, then the slice (the fake nodes do not filter)
    assert.deepEqual(await page(1, 2, '&conn_state=connected'), { ids: ['a3', 'a4'], count: -1 });
    assert.equal(oneRound(), false);
    assert.deepEqual(await page(1, 2), { ids: ['a3', 'a4'], count: 14 });
    assert.equal(oneRound(), true);
  });
});
