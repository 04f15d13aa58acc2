import type { Resource } from '../endpoint.js';
import { nodePair } from '../node-pair.js';
import { clients as v4Clients } from '../v4/clients.js';
import { over, v4 } from './adapt.js';
import { clientLookup, clientPage } from './client-lists.js';
import { connectionRow } from './client-rows.js';

/** GET /connections..., /nodes/{node}/connections..., DELETE /connections/{clientid}: the connected clients. */
export const connections: Resource = [
  ...nodePair({
    path: '/connections/',
    name: ['list_connections', 'list_node_connections'],
    descr: ['A list of connections in the cluster', 'A list of connections on a node'],
    handle: (ctx, node) => clientPage(ctx, node, 'connections', connectionRow),
  }),
  ...nodePair({
    path: '/connections/:clientid',
    name: ['lookup_connections', 'lookup_node_connections'],
    descr: ['Lookup a connection in the cluster', 'Lookup a connection on node'],
    handle: (ctx, node) => clientLookup(ctx, node, 'connections', connectionRow),
  }),
  over(v4(v4Clients, 'kickout_client'), { path: '/connections/:clientid', name: 'kickout_connection', descr: 'Kick out a connection' }),
];
