/**
 * The clients resource on this node (GET/DELETE /api/v4/clients...): its rows, built from
 * the sessions, and the client list's query evaluated the way EMQX 4.x's
 * emqx_mgmt_api_clients does, so the node filters before it pages.
 */
import { TLSSocket } from 'node:tls';
import { CLIENT_QUERY, type CLIENTS_PARAMS, type ClientQuery, type ClientRow, type V3ClientFields } from '../../shared/api/clients.js';
import type { Slice } from '../../shared/api/page.js';
import { isFiltered as anyField } from '../../shared/api/query-schema.js';
import type { RpcHandlers } from '../../shared/rpc.js';
import { formatDatetime } from '../../shared/time-format.js';
import type { Broker } from '../broker.js';
import type { Session } from '../session/session.js';
import { count, page } from './page.js';

/** The row fields the client filters read. */
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

/** EMQX 3.x prints an unset field as the atom `undefined`. */
const UNDEFINED = 'undefined';

/** The peer certificate's subject as EMQX 3 shows it: "nossl" off TLS, "undefined" when the client sent none. */
function peercert(socket: unknown): string {
  if (!(socket instanceof TLSSocket)) return 'nossl';
  const subject = socket.getPeerCertificate()?.subject;
  if (!subject || Object.keys(subject).length === 0) return UNDEFINED;
  return Object.entries(subject)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

/** The EMQX 3.x fields of a session's row (V3ClientFields). */
function v3Fields(s: Session): V3ClientFields {
  const last = s.conn ?? s.lastConn;
  return {
    will_topic: last?.info?.will?.topic ?? UNDEFINED,
    peercert: last ? peercert(last.socket) : 'nossl',
    enqueue_msg: s.mqueue.enqueued,
  };
}

/** One row of GET /api/v4/clients for a session; with `v3`, its EMQX 3.x fields too. */
export function clientRow(b: Broker, s: Session, v3 = false): ClientRow {
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
  if (v3) row.v3 = v3Fields(s);
  return row;
}

/** EMQX takes the query's times in epoch seconds and compares them, times 1000, with its ms times. */
const ms = (seconds: number): number => seconds * 1000;

type Test<K extends keyof ClientQuery> = (r: ClientRecord, v: NonNullable<ClientQuery[K]>, q: ClientQuery) => boolean;

/** One test per query field (a field the schema gains and this table lacks fails the build). */
const TESTS: { [K in keyof ClientQuery]-?: Test<K> } = {
  clientid: (r, v) => r.fields.clientid === v,
  username: (r, v) => r.fields.username === v,
  zone: (r, v) => r.fields.zone === v,
  ip_address: (r, v) => r.fields.ip_address === v,
  conn_state: (r, v) => r.connState === v,
  clean_start: (r, v) => r.fields.clean_start === v,
  proto_name: (r, v) => r.fields.proto_name === v,
  proto_ver: (r, v) => r.fields.proto_ver === v,
  // EMQX drops a `_like_` condition when the same field is also queried exactly; a client
  // without a username is matched as the empty string
  _like_clientid: (r, v, q) => q.clientid !== undefined || r.fields.clientid.includes(v),
  _like_username: (r, v, q) => q.username !== undefined || (r.fields.username ?? '').includes(v),
  _gte_created_at: (r, v) => r.createdAtMs >= ms(v),
  _lte_created_at: (r, v) => r.createdAtMs <= ms(v),
  _gte_connected_at: (r, v) => r.connectedAtMs >= ms(v),
  _lte_connected_at: (r, v) => r.connectedAtMs <= ms(v),
  _gte_mqueue_len: (r, v) => r.fields.mqueue_len >= v,
  _lte_mqueue_len: (r, v) => r.fields.mqueue_len <= v,
  _gte_mqueue_dropped: (r, v) => r.fields.mqueue_dropped >= v,
  _lte_mqueue_dropped: (r, v) => r.fields.mqueue_dropped <= v,
};

/** Whether the query has any condition (EMQX then reports the total count as -1). */
export const isFiltered = (q: ClientQuery): boolean => anyField(CLIENT_QUERY, q);

/** The query as one predicate over client records, built once per request: only the fields given are tested. */
export function clientFilter(q: ClientQuery): ((r: ClientRecord) => boolean) | undefined {
  const tests: ((r: ClientRecord) => boolean)[] = [];
  for (const name of Object.keys(CLIENT_QUERY) as (keyof ClientQuery)[]) {
    const v = q[name];
    if (v === undefined) continue;
    const test = TESTS[name] as Test<typeof name>;
    tests.push((r) => test(r, v as never, q));
  }
  if (tests.length === 0) return undefined;
  return (r) => {
    for (const t of tests) if (!t(r)) return false;
    return true;
  };
}

export const matchClient = (record: ClientRecord, q: ClientQuery): boolean => clientFilter(q)?.(record) ?? true;

/** The page of this node's clients (in the order their sessions opened) that match the query. */
export function listClients(b: Broker, query: ClientQuery, slice: Slice, v3 = false): ClientRow[] {
  const match = clientFilter(query);
  const keep = match ? (s: Session) => match(clientRecord(b, s)) : undefined;
  return page(b.sessions.values(), keep, slice).map((s) => clientRow(b, s, v3));
}

export function countClients(b: Broker, query: ClientQuery): number {
  const match = clientFilter(query);
  return match ? count(b.sessions.values(), (s) => match(clientRecord(b, s))) : b.sessions.size;
}

/** GET/DELETE /api/v4/clients... on this node. */
export function clientsHandlers(b: Broker): Pick<RpcHandlers, keyof typeof CLIENTS_PARAMS> {
  return {
    'clients.count': ({ query }) => countClients(b, query),
    'clients.list': ({ query, offset, limit, v3 }) => listClients(b, query, { offset, limit }, v3),
    'clients.get': ({ clientid, v3 }) => {
      const s = b.sessions.get(clientid);
      return s ? clientRow(b, s, v3) : null;
    },
    'clients.byUsername': ({ username }) => {
      const out: ClientRow[] = [];
      for (const s of b.sessions.values()) if ((s.conn ?? s.lastConn)?.info?.username === username) out.push(clientRow(b, s));
      return out;
    },
    'clients.kick': ({ clientid }) => b.kick(clientid),
  };
}
