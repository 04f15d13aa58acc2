import { CLIENT_QUERY } from '../../../shared/api/clients.js';
import { CODE } from '../../../shared/result-codes.js';
import type { ApiContext, ApiReply, Resource } from '../endpoint.js';
import { ApiError } from '../errors.js';
import { gather, nodePair } from '../node-pair.js';
import { pagedList } from '../paged-list.js';

const notOnline = (clientid: string): ApiError => new ApiError(200, CODE.CLIENT_NOT_ONLINE, `client ${clientid} not online`);

/** Asks every node to act on the client; 112 when none held it. */
async function onClient({ cluster, params }: ApiContext, method: 'clients.kick' | 'clients.clearAclCache'): Promise<ApiReply> {
  const clientid = params.clientid!;
  const done = await cluster.all(method, { clientid });
  if (!done.some((r) => r.data)) throw notOnline(clientid);
  return {};
}

/** GET, DELETE /clients..., /nodes/{node}/clients...: connected clients and persistent sessions. */
export const clients: Resource = [
  ...nodePair({
    path: '/clients',
    name: ['list_clients', 'list_node_clients'],
    descr: ['A list of clients in the cluster', 'A list of clients on a node'],
    handle: (ctx, node) => pagedList(ctx, CLIENT_QUERY, 'clients.count', 'clients.list', node),
  }),
  ...nodePair({
    path: '/clients/username/:username',
    name: ['lookup_client_via_username', 'lookup_node_client_via_username'],
    descr: ['Lookup a client via username in the cluster', 'Lookup a client via username on a node'],
    handle: async ({ cluster, params }, node) => ({
      data: (await gather(cluster, node, 'clients.byUsername', { username: params.username! })).flatMap((r) => r.data),
    }),
  }),
  ...nodePair({
    path: '/clients/:clientid',
    name: ['lookup_client', 'lookup_node_client'],
    descr: ['Lookup a client in the cluster', 'Lookup a client on a node'],
    // every node is asked: during a takeover the client may briefly be on two; an array on
    // one node too, as the spec's example shows (its table says Object)
    handle: async ({ cluster, params }, node) => ({
      data: (await gather(cluster, node, 'clients.get', { clientid: params.clientid! })).flatMap((r) => (r.data ? [r.data] : [])),
    }),
  }),
  {
    method: 'DELETE',
    path: '/clients/:clientid',
    name: 'kickout_client',
    descr: 'Kick out a client in the cluster',
    handle: (ctx) => onClient(ctx, 'clients.kick'),
  },
  {
    method: 'GET',
    path: '/clients/:clientid/acl_cache',
    name: 'list_acl_cache',
    descr: 'List the ACL cache of a specified client in the cluster',
    handle: async ({ cluster, params }) => {
      const clientid = params.clientid!;
      const found = (await cluster.all('clients.aclCache', { clientid })).find((r) => r.data !== null);
      if (!found) throw notOnline(clientid);
      return { data: found.data };
    },
  },
  {
    method: 'DELETE',
    path: '/clients/:clientid/acl_cache',
    name: 'clean_acl_cache',
    descr: 'Clean the ACL cache of a specified client in the cluster',
    handle: (ctx) => onClient(ctx, 'clients.clearAclCache'),
  },
];
