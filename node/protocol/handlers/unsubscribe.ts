import type { IUnsubscribePacket } from 'mqtt-packet';
import { metricIndex } from '../../metrics/metrics.js';
import type { ClientConnection } from '../../core/ports.js';

const M_UNSUBSCRIBE_RECEIVED = metricIndex('packets.unsubscribe.received');
const M_UNSUBSCRIBE_ERROR = metricIndex('packets.unsubscribe.error');
const M_UNSUBACK_SENT = metricIndex('packets.unsuback.sent');
const M_CLIENT_UNSUBSCRIBE = metricIndex('client.unsubscribe');

/** UNSUBSCRIBE [MQTT-3.10]: removes each filter; MQTT 5 learns per filter whether it existed. */
export function handleUnsubscribe(conn: ClientConnection, p: IUnsubscribePacket): void {
  const b = conn.broker;
  b.metrics.inc(M_UNSUBSCRIBE_RECEIVED);
  b.metrics.inc(M_CLIENT_UNSUBSCRIBE);
  const rw = b.rewrite;
  const session = conn.session!;
  const username = conn.info!.username;
  const h = b.hooks.clientUnsubscribe;
  const codes = p.unsubscriptions.map((sent) => {
    // emqx_mod_rewrite: the filter is rewritten as it was on SUBSCRIBE
    const topic = rw === undefined ? sent : rw.filter(sent, session.clientId, username);
    if (h.active) h.emit({ clientid: session.clientId, username, topic });
    const code = b.unsubscribe(session, topic);
    if (code >= 0x80) b.metrics.inc(M_UNSUBSCRIBE_ERROR);
    return code;
  });
  b.metrics.inc(M_UNSUBACK_SENT);
  if (conn.version === 5) conn.sendPacket({ cmd: 'unsuback', messageId: p.messageId, granted: codes });
  else conn.sendPacket({ cmd: 'unsuback', messageId: p.messageId, granted: [] });
}
