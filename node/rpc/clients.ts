import type { ClientQuery, ClientRow, RpcHandlers, Slice } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import { aclCache, clearAclCache, client, clientRecord, clientRow, clientsByUsername } from '../inspect.js';
import type { Session } from '../session/session.js';
import { isFiltered, matchClient } from '../query/clients.js';
import { count, page } from '../query/page.js';

type ClientMethods = 'clients.count' | 'clients.list' | 'clients.get' | 'clients.byUsername' | 'clients.kick' | 'clients.aclCache' | 'clients.clearAclCache';

/** The page of this node's clients (in the order their sessions opened) that match the query. */
export function listClients(b: Broker, query: ClientQuery, slice: Slice): ClientRow[] {
  const keep = isFiltered(query) ? (s: Session) => matchClient(clientRecord(b, s), query) : undefined;
  return page(b.sessions.values(), keep, slice).map((s) => clientRow(b, s));
}

export function countClients(b: Broker, query: ClientQuery): number {
  return isFiltered(query) ? count(b.sessions.values(), (s) => matchClient(clientRecord(b, s), query)) : b.sessions.size;
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
