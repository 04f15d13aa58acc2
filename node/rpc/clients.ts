import type { ClientQuery, ClientRow, RpcHandlers, Slice } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import { aclCache, clearAclCache, client, clientRecord, clientsByUsername, type ClientRecord } from '../inspect.js';
import { isFiltered, matchClient } from '../query/clients.js';
import { count, page } from '../query/page.js';

type ClientMethods = 'clients.count' | 'clients.list' | 'clients.get' | 'clients.byUsername' | 'clients.kick' | 'clients.aclCache' | 'clients.clearAclCache';

/** Records built one at a time, so a page stops building once it is full. */
function* records(b: Broker): Generator<ClientRecord> {
  for (const s of b.sessions.values()) yield clientRecord(b, s);
}

/** The page of this node's clients (in the order their sessions opened) that match the query. */
export function listClients(b: Broker, query: ClientQuery, slice: Slice): ClientRow[] {
  if (!isFiltered(query)) return page(b.sessions.values(), undefined, slice).map((s) => clientRecord(b, s).row);
  return page(records(b), (r) => matchClient(r, query), slice).map((r) => r.row);
}

export function countClients(b: Broker, query: ClientQuery): number {
  return isFiltered(query) ? count(records(b), (r) => matchClient(r, query)) : b.sessions.size;
}

/** GET/DELETE /api/v4/clients... on this node. */
export function clientsHandlers(b: Broker): Pick<RpcHandlers, ClientMethods> {
  return {
    'clients.count': ({ query }) => countClients(b, query ?? {}),
    'clients.list': ({ query, offset, limit }) => listClients(b, query ?? {}, { offset, limit }),
    'clients.get': ({ clientid }) => client(b, clientid) ?? null,
    'clients.byUsername': ({ username }) => clientsByUsername(b, username),
    'clients.kick': ({ clientid }) => b.kick(clientid),
    'clients.aclCache': ({ clientid }) => aclCache(b, clientid) ?? null,
    'clients.clearAclCache': ({ clientid }) => clearAclCache(b, clientid),
  };
}
