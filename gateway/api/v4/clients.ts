import { CODE } from '../../../shared/result-codes.js';
import type { ClientQuery } from '../../../shared/rpc.js';
import type { Resource } from '../endpoint.js';
import { pagedList } from '../paged-list.js';
import { ApiError } from '../errors.js';
import type { QuerySchema } from '../schema.js';

/** The client list's query string (EMQX 4.1+); times are epoch seconds. */
export const CLIENT_QUERY: QuerySchema<ClientQuery> = {
  clientid: 'string',
  username: 'string',
  zone: 'string',
  ip_address: 'string',
  conn_state: { enum: ['connected', 'idle', 'disconnected'] },
  clean_start: 'bool',
  proto_name: { enum: ['MQTT', 'CoAP', 'LwM2M', 'MQTT-SN'] },
  proto_ver: 'int',
  _like_clientid: 'string',
  _like_username: 'string',
  _gte_created_at: 'int',
  _lte_created_at: 'int',
  _gte_connected_at: 'int',
  _lte_connected_at: 'int',
  _gte_mqueue_len: 'int',
  _lte_mqueue_len: 'int',
  _gte_mqueue_dropped: 'int',
  _lte_mqueue_dropped: 'int',
};

const notOnline = (clientid: string): ApiError => new ApiError(200, CODE.CLIENT_NOT_ONLINE, `client ${clientid} not online`);


/** GET, DELETE /clients..., /nodes/{node}/clients...: connected clients and persistent sessions. */
export const clients: Resource = [
  {
    method: 'GET',
    path: '/clients',
    name: 'list_clients',
    descr: 'A list of clients in the cluster',
    handle: (ctx) => pagedList(ctx, CLIENT_QUERY, 'clients.count', 'clients.list'),
  },
  {
    method: 'GET',
    path: '/nodes/:node/clients',
    name: 'list_node_clients',
    descr: 'A list of clients on a node',
    handle: (ctx) => pagedList(ctx, CLIENT_QUERY, 'clients.count', 'clients.list', ctx.params.node!),
  },
  {
    method: 'GET',
    path: '/clients/username/:username',
    name: 'lookup_client_via_username',
    descr: 'Lookup a client via username in the cluster',
    handle: async ({ cluster, params }) => ({
      data: (await cluster.all('clients.byUsername', { username: params.username! })).flatMap((r) => r.data),
    }),
  },
  {
    method: 'GET',
    path: '/nodes/:node/clients/username/:username',
    name: 'lookup_node_client_via_username',
    descr: 'Lookup a client via username on a node',
    handle: async ({ cluster, params }) => ({ data: await cluster.one(params.node!, 'clients.byUsername', { username: params.username! }) }),
  },
  {
    method: 'GET',
    path: '/clients/:clientid',
    name: 'lookup_client',
    descr: 'Lookup a client in the cluster',
    // every node is asked: during a takeover the client may briefly be on two
    handle: async ({ cluster, params }) => ({
      data: (await cluster.all('clients.get', { clientid: params.clientid! })).flatMap((r) => (r.data ? [r.data] : [])),
    }),
  },
  {
    method: 'GET',
    path: '/nodes/:node/clients/:clientid',
    name: 'lookup_node_client',
    descr: 'Lookup a client on a node',
    // an array, as the spec's example shows (its table says Object)
    handle: async ({ cluster, params }) => {
      const row = await cluster.one(params.node!, 'clients.get', { clientid: params.clientid! });
      return { data: row ? [row] : [] };
    },
  },
  {
    method: 'DELETE',
    path: '/clients/:clientid',
    name: 'kickout_client',
    descr: 'Kick out a client in the cluster',
    handle: async ({ cluster, params }) => {
      const clientid = params.clientid!;
      const kicked = await cluster.all('clients.kick', { clientid });
      if (!kicked.some((r) => r.data)) throw notOnline(clientid);
      return {};
    },
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
    handle: async ({ cluster, params }) => {
      const clientid = params.clientid!;
      const cleared = await cluster.all('clients.clearAclCache', { clientid });
      if (!cleared.some((r) => r.data)) throw notOnline(clientid);
      return {};
    },
  },
];
