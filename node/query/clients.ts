/**
 * The client list's query (GET /api/v4/clients?...), evaluated against one client the way
 * EMQX 4.x's emqx_mgmt_api_clients does, so a node can filter before it pages.
 */
import type { ClientQuery } from '../../shared/rpc.js';
import type { ClientRecord } from '../inspect.js';

/** Every ClientQuery field; the check below fails the build when the contract gains one not handled here. */
const FIELDS = [
  'clientid',
  'username',
  'zone',
  'ip_address',
  'conn_state',
  'clean_start',
  'proto_name',
  'proto_ver',
  '_like_clientid',
  '_like_username',
  '_gte_created_at',
  '_lte_created_at',
  '_gte_connected_at',
  '_lte_connected_at',
  '_gte_mqueue_len',
  '_lte_mqueue_len',
  '_gte_mqueue_dropped',
  '_lte_mqueue_dropped',
] as const satisfies readonly (keyof ClientQuery)[];
const allFieldsHandled: [Exclude<keyof ClientQuery, (typeof FIELDS)[number]>] extends [never] ? true : never = true;
void allFieldsHandled;

/** Whether the query has any condition (EMQX then reports the total count as -1). */
export function isFiltered(q: ClientQuery): boolean {
  return FIELDS.some((f) => q[f] !== undefined);
}

/** EMQX takes the query's times in epoch seconds and compares them, times 1000, with its ms times. */
const ms = (seconds: number): number => seconds * 1000;

export function matchClient(record: ClientRecord, q: ClientQuery): boolean {
  const r = record.fields;
  if (q.clientid !== undefined && r.clientid !== q.clientid) return false;
  if (q.username !== undefined && r.username !== q.username) return false;
  if (q.zone !== undefined && r.zone !== q.zone) return false;
  if (q.ip_address !== undefined && r.ip_address !== q.ip_address) return false;
  if (q.conn_state !== undefined && record.connState !== q.conn_state) return false;
  if (q.clean_start !== undefined && r.clean_start !== q.clean_start) return false;
  if (q.proto_name !== undefined && r.proto_name !== q.proto_name) return false;
  if (q.proto_ver !== undefined && r.proto_ver !== q.proto_ver) return false;
  // EMQX drops a `_like_` condition when the same field is also queried exactly; a client
  // without a username is matched as the empty string
  if (q._like_clientid !== undefined && q.clientid === undefined && !r.clientid.includes(q._like_clientid)) return false;
  if (q._like_username !== undefined && q.username === undefined && !(r.username ?? '').includes(q._like_username)) return false;
  if (q._gte_created_at !== undefined && !(record.createdAtMs >= ms(q._gte_created_at))) return false;
  if (q._lte_created_at !== undefined && !(record.createdAtMs <= ms(q._lte_created_at))) return false;
  if (q._gte_connected_at !== undefined && !(record.connectedAtMs >= ms(q._gte_connected_at))) return false;
  if (q._lte_connected_at !== undefined && !(record.connectedAtMs <= ms(q._lte_connected_at))) return false;
  if (q._gte_mqueue_len !== undefined && !(r.mqueue_len >= q._gte_mqueue_len)) return false;
  if (q._lte_mqueue_len !== undefined && !(r.mqueue_len <= q._lte_mqueue_len)) return false;
  if (q._gte_mqueue_dropped !== undefined && !(r.mqueue_dropped >= q._gte_mqueue_dropped)) return false;
  if (q._lte_mqueue_dropped !== undefined && !(r.mqueue_dropped <= q._lte_mqueue_dropped)) return false;
  return true;
}
