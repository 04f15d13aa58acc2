import type { IPubrecPacket } from 'mqtt-packet';
import { metricIndex } from '../../metrics/metrics.js';
import type { ClientConnection } from '../../core/ports.js';

const M_PUBREC_RECEIVED = metricIndex('packets.pubrec.received');

/** PUBREC [MQTT-3.5]: first acknowledgement of a QoS 2 delivery to this client; answered with PUBREL. */
export function handlePubrec(conn: ClientConnection, p: IPubrecPacket): void {
  conn.broker.metrics.inc(M_PUBREC_RECEIVED);
  conn.session!.pubrec(p.messageId ?? 0, p.reasonCode ?? 0);
}
