import type { IPubcompPacket } from 'mqtt-packet';
import { metricIndex } from '../../metrics/metrics.js';
import type { ClientConnection } from '../../core/ports.js';

const M_PUBCOMP_RECEIVED = metricIndex('packets.pubcomp.received');

/** PUBCOMP [MQTT-3.7]: ends a QoS 2 delivery to this client. */
export function handlePubcomp(conn: ClientConnection, p: IPubcompPacket): void {
  conn.broker.metrics.inc(M_PUBCOMP_RECEIVED);
  conn.session!.pubcomp(p.messageId ?? 0);
}
