import type { BannedAs, BannedEntry } from '../../../shared/api/banned.js';
import type { Resource } from '../endpoint.js';
import { badParam, missing } from '../errors.js';
import { pageOf, paging } from '../params.js';
import { banned as v4Banned, inForce } from '../v4/banned.js';
import { over, UNDEFINED, v3Meta, v4 } from './adapt.js';

/**
 * GET /banned/, POST /banned/, DELETE /banned/{who}?as=: v4's banned table (one table, one
 * store), with EMQX 3.x's names for what a ban matches on.
 */
const AS_V4: Readonly<Record<string, BannedAs>> = { client_id: 'clientid', username: 'username', ip_address: 'peerhost' };
const AS_V3: Readonly<Record<BannedAs, string>> = { clientid: 'client_id', username: 'username', peerhost: 'ip_address' };

/** v3's `as` as v4's; a value v3 does not have is 108. */
function asV4(as: unknown): BannedAs {
  if (typeof as === 'string' && Object.hasOwn(AS_V4, as)) return AS_V4[as]!;
  throw badParam('as', `must be one of ${Object.keys(AS_V4).join(', ')}`);
}

/** A ban as EMQX 3.x's API shows one. */
const row = (e: BannedEntry): Record<string, unknown> => ({ who: e.who, as: AS_V3[e.as], reason: e.reason, by: e.by, desc: e.desc ?? UNDEFINED, until: e.until });

export const banned: Resource = [
  {
    method: 'GET',
    path: '/banned/',
    name: 'list_banned',
    descr: 'List banned',
    handle: async ({ store, query }) => {
      const { page, limit } = paging(query);
      const { data, meta } = pageOf(await inForce(store), page, limit);
      return { data: data.map(row), meta: v3Meta(meta) };
    },
  },
  over(v4(v4Banned, 'create_banned'), {
    path: '/banned/',
    name: 'create_banned',
    descr: 'Create banned',
    request: (ctx) => {
      const b = ctx.body;
      if (typeof b !== 'object' || b === null || Array.isArray(b) || (b as { as?: unknown }).as === undefined) return ctx;
      return { ...ctx, body: { ...b, as: asV4((b as { as: unknown }).as) } };
    },
    // "the same as the request body", as the spec shows it (v3's `as`)
    reply: (_r, ctx) => ({ data: ctx.body }),
  }),
  over(v4(v4Banned, 'delete_banned'), {
    path: '/banned/:who',
    name: 'delete_banned',
    descr: 'Delete banned',
    request: (ctx) => {
      if (ctx.query.as === undefined) throw missing('as');
      return { ...ctx, params: { ...ctx.params, as: asV4(ctx.query.as) } };
    },
  }),
];
