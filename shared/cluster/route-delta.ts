/**
 * The route-delta notice: how a batch of one node's route changes reaches every node (the
 * Redis store's channel P:routes). JSON:
 *
 *   {"node":"n1@h","changes":[["add","t/#"],["delete","x/+"],["add","$share/g/t",3]]}
 *
 * A dead node's purge adds `"purge":true`.
 * `changes` in the order they were applied: [op, filter], or ["add", filter, members] for a
 * shared group's member count on the node. One notice per batch of writes, at most
 * DELTA_MAX_CHANGES changes each (a larger batch, such as a reconnect's setRoutes, is told in
 * several), so a route costs its receivers a share of one message, not one of its own.
 * Written by the Lua scripts of redis/routes.ts, read by parseRouteDelta.
 *
 * The single-change notice of before ({"op","node","filter","members"?}) is read too: nodes
 * of both versions can share one Redis during a rolling upgrade, the older ones missing the
 * newer ones' changes until their next reload.
 */
import type { RouteChange } from './store.js';

/** Changes in one notice at most: a pub/sub message stays well under Redis' output buffer limits. */
export const DELTA_MAX_CHANGES = 1000;

/** The changes a notice carries, each with its node; undefined if it is malformed. */
export function parseRouteDelta(json: string): RouteChange[] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as { node?: unknown; changes?: unknown; op?: unknown; filter?: unknown; members?: unknown; purge?: unknown };
  if (typeof o.node !== 'string') return undefined;
  if (!Array.isArray(o.changes)) {
    const one = change(o.node, o.op, o.filter, o.members);
    return one && [one];
  }
  const out: RouteChange[] = [];
  for (const c of o.changes as unknown[]) {
    if (!Array.isArray(c)) return undefined;
    const one = change(o.node, c[0], c[1], c[2]);
    if (!one) return undefined;
    if (o.purge === true && one.op === 'delete') one.purge = true;
    out.push(one);
  }
  return out;
}

function change(node: string, op: unknown, filter: unknown, members: unknown): RouteChange | undefined {
  if ((op !== 'add' && op !== 'delete') || typeof filter !== 'string') return undefined;
  return typeof members === 'number' && members > 0 ? { op, node, filter, members } : { op, node, filter };
}
