import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { formatBytes, formatDatetime, formatUptime } from '../shared/time-format.js';
import { parseShare } from '../shared/topic.js';
import { OTP_RELEASE, SYSDESCR, VERSION } from '../shared/version.js';
import type { Broker } from './broker.js';
import type { Session } from './session/session.js';
import type { MetricName } from '../shared/emqx-names.js';
import type { AclCacheRow, BrokerRow, ClientQuery, ClientRow, ListenerRow, NodeRow, RouteRow, SubscriptionRow } from '../shared/rpc.js';

/**
 * The node's state as the EMQX API shows it: plain functions over a Broker, which the RPC
 * layer calls to answer the gateway. Field names and types follow the v4 spec.
 */

/** The row fields the client filters read (node/query/clients.ts). */
export type ClientFields = Pick<ClientRow, 'clientid' | 'username' | 'zone' | 'ip_address' | 'clean_start' | 'proto_name' | 'proto_ver' | 'mqueue_len' | 'mqueue_dropped'>;

/**
 * A client as the filters see it: the filterable fields and raw times (epoch ms). A
 * filtered list or count tests every session on the node; formatting a full row for each
 * (40 fields, two dates) was most of a fuzzy query's cost, so rows are built (clientRow)
 * only for the sessions a page returns.
 */
export interface ClientRecord {
  fields: ClientFields;
  createdAtMs: number;
  connectedAtMs: number;
  connState: NonNullable<ClientQuery['conn_state']>;
}

export function clientRecord(b: Broker, s: Session): ClientRecord {
  // the last connection's details stay on an offline persistent session
  const last = s.conn ?? s.lastConn;
  const info = last?.info;
  return {
    fields: {
      clientid: s.clientId,
      username: info?.username ?? null,
      zone: b.cfg.zone,
      ip_address: last?.peerHost ?? '',
      clean_start: s.cleanStart,
      proto_name: info?.protoName ?? 'MQTT',
      proto_ver: last?.version ?? 4,
      mqueue_len: s.mqueue.length,
      mqueue_dropped: s.mqueue.dropped,
    },
    createdAtMs: s.createdAt,
    connectedAtMs: info?.connectedAt ?? s.createdAt,
    connState: s.conn ? 'connected' : 'disconnected',
  };
}

/** One row of GET /api/v4/clients for a session. */
export function clientRow(b: Broker, s: Session): ClientRow {
  const cfg = b.cfg;
  const conn = s.conn;
  const last = conn ?? s.lastConn;
  const info = last?.info;
  const record = clientRecord(b, s);
  const row: ClientRow = {
    node: b.nodeName,
    ...record.fields,
    port: last?.peerPort ?? 0,
    is_bridge: info?.isBridge ?? false,
    connected_at: formatDatetime(record.connectedAtMs),
    connected: conn !== undefined,
    keepalive: info?.keepalive ?? 0,
    expiry_interval: s.expiryInterval,
    created_at: formatDatetime(s.createdAt),
    subscriptions_cnt: s.subscriptions.size,
    max_subscriptions: cfg.maxSubscriptions,
    inflight: s.inflight.size,
    max_inflight: cfg.maxInflight,
    max_mqueue: cfg.maxMqueue,
    awaiting_rel: s.awaitingRel.size,
    max_awaiting_rel: cfg.maxAwaitingRel,
    recv_oct: last?.recvOct ?? 0,
    recv_cnt: last?.recvCnt ?? 0,
    recv_pkt: last?.recvPkt ?? 0,
    recv_msg: last?.recvMsg ?? 0,
    send_oct: last?.sendOct ?? 0,
    send_cnt: last?.sendCnt ?? 0,
    send_pkt: last?.sendPkt ?? 0,
    send_msg: last?.sendMsg ?? 0,
    // Erlang process fields have no Node.js counterpart; the analogs:
    // mailbox_len: messages waiting in the session queue (the work queued for this client),
    // heap_size: bytes buffered for the client's socket, not yet written,
    // reductions: packets handled for this client in both directions (work done).
    mailbox_len: s.mqueue.length,
    heap_size: conn ? conn.socket.writableLength : 0,
    reductions: (last?.recvPkt ?? 0) + (last?.sendPkt ?? 0),
  };
  if (!conn) row.disconnected_at = formatDatetime(s.disconnectedAt || s.createdAt);
  return row;
}


export function client(b: Broker, clientId: string): ClientRow | undefined {
  const s = b.sessions.get(clientId);
  return s ? clientRow(b, s) : undefined;
}

export function clientsByUsername(b: Broker, username: string): ClientRow[] {
  const out: ClientRow[] = [];
  for (const s of b.sessions.values()) if ((s.conn ?? s.lastConn)?.info?.username === username) out.push(clientRow(b, s));
  return out;
}

export function subscriptions(b: Broker, clientId?: string): SubscriptionRow[] {
  const out: SubscriptionRow[] = [];
  const sessions = clientId === undefined ? b.sessions.values() : [b.sessions.get(clientId)].filter((s): s is Session => !!s);
  for (const s of sessions) {
    for (const [topic, opts] of s.subscriptions) out.push({ node: b.nodeName, clientid: s.clientId, topic, qos: opts.qos });
  }
  return out;
}

/**
 * GET /api/v4/routes: the filters this node has subscribers for. A shared group's route
 * key `$share/<group>/<filter>` shows as the plain filter, once, as EMQX lists route topics.
 */
export function routes(b: Broker): RouteRow[] {
  const topics = new Set<string>();
  for (const key of b.router.routeKeys()) {
    const share = parseShare(key);
    topics.add(share ? share.filter : key);
  }
  return [...topics].sort().map((topic) => ({ topic, node: b.nodeName }));
}

/** GET /api/v4/brokers/{node} */
export function brokerInfo(b: Broker): BrokerRow {
  return {
    version: VERSION,
    uptime: formatUptime(Date.now() - b.startedAt),
    sysdescr: SYSDESCR,
    otp_release: OTP_RELEASE,
    node_status: b.stopping ? 'Stopping' : 'Running',
    node: b.nodeName,
    datetime: formatDatetime(Date.now()),
  };
}

/** GET /api/v4/nodes/{node}; process fields are the Node.js analogs (active handles for processes). */
export function nodeInfo(b: Broker): NodeRow {
  const mem = process.memoryUsage();
  const [l1, l5, l15] = loadavg();
  return {
    version: VERSION,
    uptime: formatUptime(Date.now() - b.startedAt),
    // EMQX counts Erlang processes, one per connection and per session; the analog here is
    // the sessions (a connected client has one) and the listeners. Counted, not listed:
    // listing Node's handles costs milliseconds at 10,000 connections (measured).
    process_used: b.sessions.size + b.listeners.length,
    process_available: 2097152,
    otp_release: OTP_RELEASE,
    node_status: b.stopping ? 'Stopping' : 'Running',
    node: b.nodeName,
    memory_used: formatBytes(mem.heapUsed + mem.external),
    memory_total: formatBytes(mem.rss),
    max_fds: maxFds(),
    load1: l1!.toFixed(2),
    load5: l5!.toFixed(2),
    load15: l15!.toFixed(2),
    connections: b.connections.size,
  };
}

let fdLimit: number | undefined;
function maxFds(): number {
  if (fdLimit === undefined) {
    try {
      const limits = readFileSync('/proc/self/limits', 'utf8');
      const m = /Max open files\s+(\d+)/.exec(limits);
      fdLimit = m ? Number(m[1]) : 0;
    } catch {
      fdLimit = 0;
    }
  }
  return fdLimit;
}

export function listeners(b: Broker): ListenerRow[] {
  return b.listeners.map((l) => l.info());
}

export function metrics(b: Broker): Record<MetricName, number> {
  return b.metrics.toObject();
}

export function stats(b: Broker): Record<string, number> {
  return b.stats.toObject();
}

/** A connected client's ACL cache; undefined when it is not connected here. */
export function aclCache(b: Broker, clientId: string): AclCacheRow[] | undefined {
  const s = b.sessions.get(clientId);
  if (!s?.conn) return undefined;
  return s.conn.aclCache?.entries() ?? [];
}

/** Clears one client's ACL cache, or every client's on this node. */
export function clearAclCache(b: Broker, clientId?: string): boolean {
  if (clientId === undefined) {
    for (const c of b.connections) c.aclCache?.clear();
    return true;
  }
  const conn = b.sessions.get(clientId)?.conn;
  if (!conn) return false;
  conn.aclCache?.clear();
  return true;
}
