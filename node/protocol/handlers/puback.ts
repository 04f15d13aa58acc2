import type { IPubackPacket } from 'mqtt-packet';
import { metricIndex } from '../../metrics/metrics.js';
import type { ClientConnection } from '../../core/ports.js';

const M_PUBACK_RECEIVED = metricIndex('packets.puback.received');

/** PUBACK [MQTT-3.4]: ends a QoS 1 delivery to this client. */
export function handlePuback(conn: ClientConnection, p: IPubackPacket): void {
  conn.broker.metrics.inc(M_PUBACK_RECEIVED);
  conn.session!.puback(p.messageId ?? 0);
}
