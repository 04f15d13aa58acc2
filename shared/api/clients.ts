/** The clients resource (GET/DELETE /api/v4/clients...): its rows, its query and its RPC methods. */
import { optional, type ParamShapes, type RpcOf } from './params-schema.js';
import { SLICE } from './page.js';
import type { QueryOf } from './query-schema.js';

/** One row of GET /api/v4/clients (field names and types as the EMQX v4 API). */
export interface ClientRow {
  node: string;
  clientid: string;
  username: string | null;
  proto_name: string;
  proto_ver: number;
  ip_address: string;
  port: number;
  is_bridge: boolean;
  connected_at: string;
  disconnected_at?: string;
  connected: boolean;
  zone: string;
  keepalive: number;
  clean_start: boolean;
  expiry_interval: number;
  created_at: string;
  subscriptions_cnt: number;
  max_subscriptions: number;
  inflight: number;
  max_inflight: number;
  mqueue_len: number;
  max_mqueue: number;
  mqueue_dropped: number;
  awaiting_rel: number;
  max_awaiting_rel: number;
  recv_oct: number;
  recv_cnt: number;
  recv_pkt: number;
  recv_msg: number;
  send_oct: number;
  send_cnt: number;
  send_pkt: number;
  send_msg: number;
  mailbox_len: number;
  heap_size: number;
  reductions: number;
  /** only when asked (`v3: true`): what EMQX 3.x's connection and session rows show besides */
  v3?: V3ClientFields;
}

/**
 * The fields of EMQX 3.x's connection and session rows (GET /api/v3/connections, /sessions)
 * that the v4 row has no counterpart for, taken from the same session. The gateway's v3 layer
 * asks for them; v4's rows stay as its spec shows them.
 */
export interface V3ClientFields {
  /** the topic of the connection's will message, "undefined" without one (EMQX 3 prints the atom) */
  will_topic: string;
  /** the client certificate's subject over TLS ("undefined" without one), "nossl" otherwise */
  peercert: string;
  /** messages put into the session's queue since it was created (EMQX 3's enqueue_msg) */
  enqueue_msg: number;
}

/**
 * The client list's query parameters (EMQX 4.1+): exact fields, `_like_` substrings and
 * `_gte_`/`_lte_` bounds (times in epoch seconds). Evaluated on the nodes.
 */
export const CLIENT_QUERY = {
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
} as const;
export type ClientQuery = QueryOf<typeof CLIENT_QUERY>;

const CLIENTID = { clientid: 'string' } as const;
/** rows with their `v3` fields too */
const V3 = { v3: optional('bool') } as const;

export const CLIENTS_PARAMS = {
  // `v3` is accepted by the count as well: the gateway pages with one parameter object for both
  'clients.count': { query: { query: CLIENT_QUERY }, ...V3 },
  'clients.list': { query: { query: CLIENT_QUERY }, ...SLICE, ...V3 },
  'clients.get': { ...CLIENTID, ...V3 },
  'clients.byUsername': { username: 'string' },
  'clients.kick': CLIENTID,
} as const satisfies ParamShapes;

export interface ClientsReplies {
  'clients.count': number;
  'clients.list': ClientRow[];
  'clients.get': ClientRow | null;
  'clients.byUsername': ClientRow[];
  /** true when the client was on this node and is now kicked */
  'clients.kick': boolean;
}
export type ClientsRpc = RpcOf<typeof CLIENTS_PARAMS, ClientsReplies>;
