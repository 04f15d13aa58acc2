import type { Resource } from '../endpoint.js';
import { nodePair } from '../node-pair.js';
import { clientLookup, clientPage } from './client-lists.js';
import { sessionRow } from './client-rows.js';

/** GET /sessions..., /nodes/{node}/sessions...: every session, connected or not, with EMQX 3's session fields. */
export const sessions: Resource = [
  ...nodePair({
    path: '/sessions/',
    name: ['list_sessions', 'list_node_sessions'],
    descr: ['A list of sessions in the cluster', 'A list of sessions on a node'],
    handle: (ctx, node) => clientPage(ctx, node, 'sessions', sessionRow),
  }),
  ...nodePair({
    path: '/sessions/:clientid',
    name: ['lookup_session', 'lookup_node_session'],
    descr: ['Lookup a session in the cluster', 'Lookup a session on the node'],
    handle: (ctx, node) => clientLookup(ctx, node, 'sessions', sessionRow),
  }),
];
