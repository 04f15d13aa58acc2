import type { ClientRow } from '../../../shared/api/clients.js';
import { UNDEFINED } from './adapt.js';

/*
 * v4's client row (asked with `v3: true`, so it carries V3ClientFields) as EMQX 3.x's
 * connection and session rows: the mapping of each field, in one place.
 */

/** What the node adds for v3; a row without it is a node that does not know `v3` (a bug). */
const extra = (r: ClientRow): NonNullable<ClientRow['v3']> => r.v3!;

/** One row of GET /api/v3/connections. */
export function connectionRow(r: ClientRow): Record<string, unknown> {
  return {
    clean_start: r.clean_start,
    client_id: r.clientid,
    connected_at: r.connected_at,
    ipaddress: r.ip_address,
    is_bridge: r.is_bridge,
    // Starling has no superusers (no auth backend grants one) and no mountpoints
    is_super: false,
    keepalive: r.keepalive,
    mountpoint: UNDEFINED,
    node: r.node,
    peercert: extra(r).peercert,
    port: r.port,
    proto_name: r.proto_name,
    proto_ver: r.proto_ver,
    username: r.username ?? UNDEFINED,
    will_topic: extra(r).will_topic,
    zone: r.zone,
  };
}

/** One row of GET /api/v3/sessions. */
export function sessionRow(r: ClientRow): Record<string, unknown> {
  return {
    awaiting_rel_len: r.awaiting_rel,
    // EMQX 3's sessions were all local to their node (no remote session processes)
    binding: 'local',
    clean_start: r.clean_start,
    client_id: r.clientid,
    created_at: r.created_at,
    // messages sent to the client (its current or last connection's count)
    deliver_msg: r.send_msg,
    enqueue_msg: extra(r).enqueue_msg,
    expiry_interval: r.expiry_interval,
    heap_size: r.heap_size,
    inflight_len: r.inflight,
    mailbox_len: r.mailbox_len,
    max_awaiting_rel: r.max_awaiting_rel,
    max_inflight: r.max_inflight,
    max_mqueue: r.max_mqueue,
    max_subscriptions: r.max_subscriptions,
    mqueue_dropped: r.mqueue_dropped,
    mqueue_len: r.mqueue_len,
    node: r.node,
    reductions: r.reductions,
    subscriptions_count: r.subscriptions_cnt,
    username: r.username ?? UNDEFINED,
  };
}
