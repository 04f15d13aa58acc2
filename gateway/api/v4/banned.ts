import { canonicalIp } from '../../../shared/ip.js';
import type { BannedAs, BannedEntry } from '../../../shared/cluster/config-types.js';
import type { ClusterStore } from '../../../shared/cluster/store.js';
import { CODE } from '../../../shared/result-codes.js';
import type { Resource } from '../endpoint.js';
import { ApiError, badParam } from '../errors.js';
import { meta, paging } from '../params.js';
import { bodySchema } from '../schema.js';

/**
 * GET /banned, POST /banned, DELETE /banned/{as}/{who}: the cluster's banned table, kept in
 * the cluster store. Every node loads it on each change (node/cluster/cluster.ts) and refuses
 * a banned client at CONNECT; times are epoch seconds, as in EMQX.
 */

const AS: readonly BannedAs[] = ['clientid', 'username', 'peerhost'];
/** EMQX's ban length when no `until` is given: five minutes. */
const DEFAULT_SECONDS = 300;
/** EMQX shows an entry added without a reason as "undefined" (the spec's example). */
const NO_REASON = 'undefined';

interface BannedBody {
  who: string;
  as: BannedAs;
  reason?: string;
  by?: string;
  at?: number;
  until?: number;
}

const SECONDS = { type: 'integer', minimum: 0 };

const bannedBody = bodySchema<BannedBody>({
  type: 'object',
  required: ['who', 'as'],
  properties: {
    who: { type: 'string', minLength: 1 },
    as: { type: 'string', enum: AS },
    reason: { type: 'string' },
    by: { type: 'string' },
    at: SECONDS,
    until: SECONDS,
  },
});

const nowSec = (): number => Math.floor(Date.now() / 1000);

/** A store call; the store being away is an RPC-class failure (101), as for the node registry. */
async function stored<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(200, CODE.RPC_ERROR, `cluster store unavailable (${what}): ${(err as Error).message}`);
  }
}

/** `who` as the table keys it: a peerhost in canonical form ("::ffff:1.2.3.4" is "1.2.3.4"). */
function whoKey(as: BannedAs, who: string): string {
  if (as !== 'peerhost') return who;
  const ip = canonicalIp(who);
  if (ip === undefined) throw badParam('who', `${JSON.stringify(who)} is not an IP address`);
  return ip;
}

function asOf(v: string): BannedAs {
  if (!(AS as readonly string[]).includes(v)) throw badParam('as', `must be one of ${AS.join(', ')}`);
  return v as BannedAs;
}

/** Entries still in force; expired ones no longer apply and are purged by the nodes. */
async function inForce(store: ClusterStore): Promise<BannedEntry[]> {
  const now = nowSec();
  return (await stored('banned', () => store.banned())).filter((e) => e.until > now);
}

export const banned: Resource = [
  {
    method: 'GET',
    path: '/banned',
    name: 'list_banned',
    descr: 'List banned',
    handle: async ({ store, query }) => {
      const { page, limit } = paging(query);
      const all = await inForce(store);
      const rows = all.slice((page - 1) * limit, page * limit).map((e) => ({ who: e.who, as: e.as, reason: e.reason, by: e.by, at: e.at, until: e.until }));
      return { data: rows, meta: meta(page, limit, all.length, false) };
    },
  },
  {
    method: 'POST',
    path: '/banned',
    name: 'create_banned',
    descr: 'Create banned',
    handle: async ({ store, body }) => {
      const b = bannedBody(body);
      const at = b.at ?? nowSec();
      const entry: BannedEntry = {
        who: whoKey(b.as, b.who),
        as: b.as,
        reason: b.reason ?? NO_REASON,
        by: b.by ?? 'user',
        at,
        until: b.until ?? at + DEFAULT_SECONDS,
      };
      await stored('addBanned', () => store.addBanned(entry));
      // "the same as the request body", as the spec and EMQX answer
      return { data: b };
    },
  },
  {
    method: 'DELETE',
    path: '/banned/:as/:who',
    name: 'delete_banned',
    descr: 'Delete banned',
    handle: async ({ store, params }) => {
      const as = asOf(params.as!);
      const who = whoKey(as, params.who!);
      // deleting an entry that is not there succeeds, as in EMQX
      await stored('deleteBanned', () => store.deleteBanned(as, who));
      return {};
    },
  },
];
