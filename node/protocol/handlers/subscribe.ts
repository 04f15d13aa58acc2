import type { ISubscribePacket } from 'mqtt-packet';
import type { QoS } from '../../../shared/message.js';
import { metricIndex } from '../../metrics/metrics.js';
import type { ClientConnection, SubscribeResult } from '../../core/ports.js';
import { RC } from '../reason-codes.js';
import type { SubOptions } from '../../router/router.js';

const M_SUBSCRIBE_RECEIVED = metricIndex('packets.subscribe.received');
const M_SUBSCRIBE_ERROR = metricIndex('packets.subscribe.error');
const M_SUBSCRIBE_AUTH_ERROR = metricIndex('packets.subscribe.auth_error');
const M_SUBACK_SENT = metricIndex('packets.suback.sent');
const M_CLIENT_SUBSCRIBE = metricIndex('client.subscribe');

/** SUBSCRIBE [MQTT-3.8]: each filter is checked and subscribed, SUBACK answers, then retained messages follow. */
export function handleSubscribe(conn: ClientConnection, p: ISubscribePacket): void {
  const b = conn.broker;
  const m = b.metrics;
  m.inc(M_SUBSCRIBE_RECEIVED);
  m.inc(M_CLIENT_SUBSCRIBE);
  const session = conn.session!;
  const subId = p.properties?.subscriptionIdentifier;
  const rw = b.rewrite;
  const codes: number[] = [];
  const retainedFor: { filter: string; opts: SubOptions }[] = [];
  let failed = false;
  for (const s of p.subscriptions) {
    const opts: SubOptions = { qos: s.qos as QoS, nl: s.nl ?? false, rap: s.rap ?? false, rh: (s.rh ?? 0) as 0 | 1 | 2, subId, share: undefined };
    // emqx_mod_rewrite: the rewritten filter is subscribed; ACL checks the one sent
    const topic = rw === undefined ? s.topic : rw.filter(s.topic, session.clientId, conn.info!.username);
    const r = b.subscribe(session, topic, opts, conn, topic === s.topic ? undefined : s.topic);
    const h = b.hooks.clientSubscribe;
    if (h.active && r.code !== RC.NOT_AUTHORIZED) h.emit({ clientid: session.clientId, username: conn.info!.username, topic, opts });
    if (r.code >= 0x80) {
      failed = true;
      if (r.code === RC.NOT_AUTHORIZED) m.inc(M_SUBSCRIBE_AUTH_ERROR);
      if (r.code === RC.PROTOCOL_ERROR) return conn.protocolError(RC.PROTOCOL_ERROR, 'protocol_error');
    } else if (wantsRetained(r)) {
      retainedFor.push({ filter: r.filter, opts: r.opts });
    }
    // MQTT 3.x SUBACK has only 0x80 for failure [MQTT-3.9.3]
    codes.push(conn.version === 5 || r.code < 0x80 ? r.code : 0x80);
  }
  if (failed) m.inc(M_SUBSCRIBE_ERROR);
  // a durable session's subscriptions are acknowledged once stored: a node dying right after
  // the SUBACK loses none of them (PUBLISH packets may come first [MQTT-3.8.4-4])
  const stored = codes.some((c) => c < 0x80) ? session.recordStored() : undefined;
  if (stored === undefined) return suback(conn, p.messageId, codes, retainedFor);
  void stored.then(() => suback(conn, p.messageId, codes, retainedFor));
}

function suback(conn: ClientConnection, messageId: number | undefined, codes: number[], retainedFor: { filter: string; opts: SubOptions }[]): void {
  const session = conn.session;
  if (session === undefined) return; // closed meanwhile
  conn.broker.metrics.inc(M_SUBACK_SENT);
  conn.sendPacket({ cmd: 'suback', messageId, granted: codes });
  for (const { filter, opts } of retainedFor) {
    for (const msg of conn.broker.retained.match(filter)) session.deliverRetained(msg, opts);
  }
}

/** [MQTT-3.3.1-9..11] whether a granted subscription gets the retained messages, per Retain Handling; shared subscriptions get none. */
export function wantsRetained(r: SubscribeResult): boolean {
  return r.code < 0x80 && r.opts.share === undefined && (r.opts.rh === 0 || (r.opts.rh === 1 && r.isNew));
}
