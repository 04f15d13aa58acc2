import type { Message } from '../../../shared/message.js';
import { parseShare } from '../../../shared/topic.js';
import { RC } from '../../protocol/reason-codes.js';
import type {
  ClientConnackEvent,
  ClientConnectEvent,
  ClientConnectedEvent,
  ClientSubscribeEvent,
  ClientUnsubscribeEvent,
  SessionTerminatedEvent,
  ClientDisconnectedEvent,
  MessageAckedEvent,
  MessageDeliveredEvent,
  MessageDroppedEvent,
  SessionSubscribedEvent,
  SessionUnsubscribedEvent,
} from '../../core/hooks.js';
import type { SubOptions } from '../../router/router.js';

/**
 * The JSON bodies EMQX 4.4's web hook POSTs, field for field (emqx_web_hook.erl): one
 * builder per action, given the node name, the payload encoding and, for the events whose
 * hookpoint carries only a clientid, the client's username.
 */
export interface BodyContext {
  node: string;
  encoding: 'plain' | 'base64';
}

function payload(ctx: BodyContext, p: Buffer): string {
  return ctx.encoding === 'base64' ? p.toString('base64') : p.toString('utf8');
}

/** The message fields every message_* body has. */
function messageFields(ctx: BodyContext, m: Message, qos: number): Record<string, unknown> {
  return {
    from_client_id: m.from,
    from_username: m.fromUsername ?? null,
    topic: m.topic,
    qos,
    retain: m.retain,
    payload: payload(ctx, m.payload),
    ts: m.timestamp,
  };
}

/** EMQX's names of reason codes (emqx_reason_codes:name/1): the RC table's keys in lower case. */
const RC_NAMES = new Map<number, string>();
for (const [k, v] of Object.entries(RC)) if (!RC_NAMES.has(v)) RC_NAMES.set(v, k.toLowerCase());

export function clientConnect(ctx: BodyContext, e: ClientConnectEvent): string {
  return JSON.stringify({ action: 'client_connect', node: ctx.node, clientid: e.clientid, username: e.username ?? null, ipaddress: e.peerhost, keepalive: e.keepalive, proto_ver: e.protoVer });
}

export function clientConnack(ctx: BodyContext, e: ClientConnackEvent): string {
  const b: Record<string, unknown> = {
    action: 'client_connack',
    node: ctx.node,
    clientid: e.clientid,
    username: e.username ?? null,
    ipaddress: e.peerhost,
    keepalive: e.keepalive,
    proto_ver: e.protoVer,
    conn_ack: RC_NAMES.get(e.reasonCode) ?? 'unspecified_error',
  };
  if (e.connectedAt !== undefined) b.connected_at = e.connectedAt;
  return JSON.stringify(b);
}

export function clientConnected(ctx: BodyContext, { client: c }: ClientConnectedEvent): string {
  return JSON.stringify({
    action: 'client_connected',
    node: ctx.node,
    clientid: c.clientid,
    username: c.username ?? null,
    ipaddress: c.peerhost,
    keepalive: c.keepalive,
    proto_ver: c.protoVer,
    connected_at: c.connectedAt,
  });
}

export function clientDisconnected(ctx: BodyContext, e: ClientDisconnectedEvent): string {
  return JSON.stringify({
    action: 'client_disconnected',
    node: ctx.node,
    clientid: e.client.clientid,
    username: e.client.username ?? null,
    reason: e.reason,
    connected_at: e.client.connectedAt,
    disconnected_at: e.disconnectedAt,
  });
}

/** EMQX's subscription options as its hook gives them: flags as 0/1, a share group apart from the filter. */
function subOpts(opts: SubOptions, isNew: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = { qos: opts.qos, nl: opts.nl ? 1 : 0, rap: opts.rap ? 1 : 0, rh: opts.rh, is_new: isNew };
  if (opts.share !== undefined) o.share = opts.share;
  return o;
}

/** EMQX's hooks see a shared subscription's filter without its `$share/<group>/` prefix. */
export function plainFilter(topic: string): string {
  return parseShare(topic)?.filter ?? topic;
}

/** EMQX's client.* hooks see the requested options, a share group apart from the filter. */
function requested(topic: string, opts?: SubOptions): Record<string, unknown> {
  const share = parseShare(topic);
  const o: Record<string, unknown> = opts ? { qos: opts.qos, nl: opts.nl ? 1 : 0, rap: opts.rap ? 1 : 0, rh: opts.rh } : {};
  if (share) o.share = share.group;
  return o;
}

export function clientSubscribe(ctx: BodyContext, e: ClientSubscribeEvent): string {
  return JSON.stringify({ action: 'client_subscribe', node: ctx.node, clientid: e.clientid, username: e.username ?? null, topic: plainFilter(e.topic), opts: requested(e.topic, e.opts) });
}

export function clientUnsubscribe(ctx: BodyContext, e: ClientUnsubscribeEvent): string {
  return JSON.stringify({ action: 'client_unsubscribe', node: ctx.node, clientid: e.clientid, username: e.username ?? null, topic: plainFilter(e.topic), opts: requested(e.topic) });
}

export function sessionTerminated(ctx: BodyContext, e: SessionTerminatedEvent): string {
  return JSON.stringify({ action: 'session_terminated', node: ctx.node, clientid: e.clientid, username: e.username ?? null, reason: e.reason });
}

export function sessionSubscribed(ctx: BodyContext, e: SessionSubscribedEvent, username: string | undefined): string {
  return JSON.stringify({
    action: 'session_subscribed',
    node: ctx.node,
    clientid: e.clientid,
    username: username ?? null,
    topic: plainFilter(e.topic),
    opts: subOpts(e.opts, e.isNew),
  });
}

export function sessionUnsubscribed(ctx: BodyContext, e: SessionUnsubscribedEvent, username: string | undefined): string {
  return JSON.stringify({ action: 'session_unsubscribed', node: ctx.node, clientid: e.clientid, username: username ?? null, topic: plainFilter(e.topic) });
}

export function messagePublish(ctx: BodyContext, m: Message): string {
  return JSON.stringify({ action: 'message_publish', node: ctx.node, ...messageFields(ctx, m, m.qos) });
}

export function messageDelivered(ctx: BodyContext, e: MessageDeliveredEvent, username: string | undefined): string {
  return JSON.stringify({ action: 'message_delivered', node: ctx.node, clientid: e.clientid, username: username ?? null, ...messageFields(ctx, e.message, e.qos) });
}

export function messageAcked(ctx: BodyContext, e: MessageAckedEvent, username: string | undefined): string {
  return JSON.stringify({ action: 'message_acked', node: ctx.node, clientid: e.clientid, username: username ?? null, ...messageFields(ctx, e.message, e.message.qos) });
}

/** Not in EMQX's web hook: the message_* fields, why, and the subscriber when one delivery was dropped. */
export function messageDropped(ctx: BodyContext, e: MessageDroppedEvent, username: string | undefined): string {
  const body: Record<string, unknown> = { action: 'message_dropped', node: ctx.node, reason: e.reason, ...messageFields(ctx, e.message, e.message.qos) };
  if (e.clientid !== undefined) {
    body.clientid = e.clientid;
    body.username = username ?? null;
  }
  return JSON.stringify(body);
}
