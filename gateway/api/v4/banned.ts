import { canonicalIp } from '../../../shared/ip.js';
import { BANNED_AS as AS, bannedKey, type BannedAs, type BannedEntry } from '../../../shared/api/banned.js';
import type { ClusterStore } from '../../../shared/cluster/store.js';
import type { Resource } from '../endpoint.js';
import { badParam } from '../errors.js';
import { meta, paging } from '../params.js';
import { bodySchema } from '../schema.js';
import { stored } from '../stored.js';

/**
 * GET /banned, POST /banned, DELETE /banned/{as}/{who}: the cluster's banned table, kept in
 * the cluster store. Every node loads it on each change (node/cluster/config-sync.ts) and refuses
 * a banned client at CONNECT; times are epoch seconds, as in EMQX.
 */

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
  desc?: string;
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
    // EMQX 3.x's description of a ban (the v3 API sends it; v4's rows leave it out)
    desc: { type: 'string' },
  },
});

const nowSec = (): number => Math.floor(Date.now() / 1000);

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
export async function inForce(store: ClusterStore): Promise<BannedEntry[]> {
  const now = nowSec();
  return (await stored('banned', () => store.configList('banned'))).filter((e) => e.until > now);
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
      if (b.desc !== undefined) entry.desc = b.desc;
      await stored('addBanned', () => store.configPut('banned', entry, 'upsert'));
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
      await stored('deleteBanned', () => store.configDelete('banned', bannedKey(as, who)));
      return {};
    },
  },
];
