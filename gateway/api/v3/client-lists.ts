import type { ClientRow } from '../../../shared/api/clients.js';
import type { ApiContext, ApiReply } from '../endpoint.js';
import { gather } from '../node-pair.js';
import { pagedList } from '../paged-list.js';
import { mapRows } from './adapt.js';

/*
 * The connection and session lists of v3: v4's client list and lookup (the same RPC,
 * paged the same way), rows asked with their v3 fields. EMQX 3's lists take no filters;
 * its connections are the connected clients, its sessions every session.
 */

/** no filter parameters: `meta.count` is always the total */
const NO_FILTERS = {} as const;
const V3 = { v3: true } as const;
const CONNECTED = { conn_state: 'connected' } as const;

export type Which = 'connections' | 'sessions';

/** One page of the cluster's (or, with `node`, one node's) connections or sessions, as v3 rows. */
export async function clientPage(ctx: ApiContext, node: string | undefined, which: Which, row: (r: ClientRow) => unknown): Promise<ApiReply> {
  const reply = await pagedList(ctx, NO_FILTERS, 'clients.count', 'clients.list', node, { params: V3, query: which === 'connections' ? CONNECTED : {} });
  return mapRows(reply, row);
}

/** The client of the path's `:clientid` wherever it is (or on `node`), as a list of v3 rows: empty when it is not there. */
export async function clientLookup(ctx: ApiContext, node: string | undefined, which: Which, row: (r: ClientRow) => unknown): Promise<ApiReply> {
  const found = await gather(ctx.cluster, node, 'clients.get', { clientid: ctx.params.clientid!, v3: true });
  return { data: found.flatMap((r) => (r.data && (which === 'sessions' || r.data.connected) ? [row(r.data)] : [])) };
}
