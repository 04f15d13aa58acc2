/**
 * The RPC contract between the gateway and the nodes, and between nodes: every method a
 * node answers, with its parameters and its reply. This file is the only place where the
 * two sides agree on a shape.
 */
import type { MetricName } from './emqx-names.js';

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
}

/**
 * The client list's query parameters (EMQX 4.1+): exact fields, `_like_` substrings and
 * `_gte_`/`_lte_` bounds (times in epoch seconds). Evaluated on the nodes.
 */
export interface ClientQuery {
  clientid?: string;
  username?: string;
  zone?: string;
  ip_address?: string;
  conn_state?: 'connected' | 'idle' | 'disconnected';
  clean_start?: boolean;
  proto_name?: string;
  proto_ver?: number;
  _like_clientid?: string;
  _like_username?: string;
  _gte_created_at?: number;
  _lte_created_at?: number;
  _gte_connected_at?: number;
  _lte_connected_at?: number;
  _gte_mqueue_len?: number;
  _lte_mqueue_len?: number;
  _gte_mqueue_dropped?: number;
  _lte_mqueue_dropped?: number;
}

/** One row of GET /api/v4/subscriptions. */
export interface SubscriptionRow {
  node: string;
  clientid: string;
  topic: string;
  qos: number;
}

/** The subscription list's query parameters. */
export interface SubscriptionQuery {
  clientid?: string;
  topic?: string;
  qos?: number;
  share?: string;
  /** a filter: subscriptions whose topic (read as a name, share prefix stripped) it matches, as EMQX does */
  _match_topic?: string;
}

export interface RouteRow {
  topic: string;
  node: string;
}

/** GET /api/v4/brokers */
export interface BrokerRow {
  version: string;
  uptime: string;
  sysdescr: string;
  otp_release: string;
  node_status: string;
  node: string;
  datetime: string;
}

/** GET /api/v4/nodes */
export interface NodeRow {
  version: string;
  uptime: string;
  process_used: number;
  process_available: number;
  otp_release: string;
  node_status: string;
  node: string;
  /** as EMQX formats them: "96.75M" */
  memory_used: string;
  memory_total: string;
  max_fds: number;
  load1: string;
  load5: string;
  load15: string;
  connections: number;
}

/** One listener of GET /api/v4/listeners. */
export interface ListenerRow {
  protocol: string;
  listen_on: string;
  acceptors: number;
  max_conns: number;
  current_conns: number;
  /** EMQX's shape: an object of reason → count, or [] when nothing has been counted */
  shutdown_count: Record<string, number> | [];
}

export interface AclCacheRow {
  access: 'publish' | 'subscribe';
  topic: string;
  result: 'allow' | 'deny';
  updated_time: number;
}

/** A publish on behalf of the API (POST /api/v4/mqtt/publish); payload already decoded. */
export interface PublishParams {
  topic: string;
  /** base64 of the payload bytes */
  payload: string;
  qos: 0 | 1 | 2;
  retain: boolean;
  clientid: string;
  properties?: {
    payload_format_indicator?: number;
    message_expiry_interval?: number;
    response_topic?: string;
    correlation_data?: string;
    user_properties?: Record<string, string>;
    content_type?: string;
  };
}

/** A page of rows from one node: the gateway asks for counts first, then slices. */
export interface Slice {
  offset: number;
  limit: number;
}

/** A session moving between nodes on takeover: what must survive the move. */
export interface SessionTransfer {
  clientid: string;
  createdAt: number;
  expiryInterval: number;
  subscriptions: { topic: string; qos: number; nl: boolean; rap: boolean; rh: number; subId?: number }[];
  /** queued and unacknowledged messages, oldest first, in the wire encoding (base64) */
  messages: { msg: string; qos: number; retain: boolean; subId?: number }[];
}

/** Every RPC method: name → [params, reply]. */
export interface RpcMethods {
  'brokers.get': [Record<string, never>, BrokerRow];
  'nodes.get': [Record<string, never>, NodeRow];
  'clients.count': [{ query: ClientQuery }, number];
  'clients.list': [{ query: ClientQuery } & Slice, ClientRow[]];
  'clients.get': [{ clientid: string }, ClientRow | null];
  'clients.byUsername': [{ username: string }, ClientRow[]];
  /** true when the client was on this node and is now kicked */
  'clients.kick': [{ clientid: string }, boolean];
  'clients.aclCache': [{ clientid: string }, AclCacheRow[] | null];
  'clients.clearAclCache': [{ clientid?: string }, boolean];
  'subscriptions.count': [{ query: SubscriptionQuery }, number];
  'subscriptions.list': [{ query: SubscriptionQuery } & Slice, SubscriptionRow[]];
  'routes.list': [Record<string, never>, RouteRow[]];
  /** publishes as if received on this node; replies with the number of deliveries */
  'mqtt.publish': [PublishParams, number];
  /** subscribes a client connected to this node; null when it is not here */
  'mqtt.subscribe': [{ clientid: string; topic: string; qos: number }, number | null];
  'mqtt.unsubscribe': [{ clientid: string; topic: string }, number | null];
  'metrics.get': [Record<string, never>, Record<MetricName, number>];
  'stats.get': [Record<string, never>, Record<string, number>];
  'listeners.list': [Record<string, never>, ListenerRow[]];
  /**
   * Node to node: a client with this clientid connected elsewhere. The session is ended
   * here; with `transfer` its state comes back to move to the new node.
   */
  'session.takeover': [{ clientid: string; transfer: boolean; toNode: string }, SessionTransfer | null];
}

export type RpcMethod = keyof RpcMethods;
export type RpcParams<M extends RpcMethod> = RpcMethods[M][0];
export type RpcReply<M extends RpcMethod> = RpcMethods[M][1];

/** The wire shape of a reply: data or an error with an EMQX result code. */
export type RpcResult<T = unknown> = { ok: true; data: T } | { ok: false; code: number; message: string };

/** A failed RPC: `code` is the EMQX result code (101 for an RPC failure or timeout). */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly node?: string,
  ) {
    super(message);
  }
}

/** How a node answers: one function per method, all of them. */
export type RpcHandlers = { [M in RpcMethod]: (params: RpcParams<M>) => RpcReply<M> | Promise<RpcReply<M>> };
