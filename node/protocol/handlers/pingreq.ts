import { metricIndex } from '../../metrics/metrics.js';
import type { ClientConnection } from '../../core/ports.js';

const M_PINGREQ = metricIndex('packets.pingreq.received');
const M_PINGRESP = metricIndex('packets.pingresp.sent');

/** PINGREQ [MQTT-3.12]. (The connection answers well-formed ones on its fast path; this serves the rest.) */
export function handlePingreq(conn: ClientConnection): void {
  conn.broker.metrics.inc(M_PINGREQ);
  conn.broker.metrics.inc(M_PINGRESP);
  conn.sendPacket({ cmd: 'pingresp' });
}
