import { metricIndex } from '../../metrics/metrics.js';
import type { ClientConnection } from '../../core/ports.js';
import { RC } from '../reason-codes.js';

const M_AUTH_RECEIVED = metricIndex('packets.auth.received');

/**
 * AUTH [MQTT-3.15]. Enhanced authentication is not offered (CONNECT with an
 * Authentication Method is refused), so an AUTH packet is a protocol error [MQTT-4.12.0-?].
 */
export function handleAuth(conn: ClientConnection): void {
  conn.broker.metrics.inc(M_AUTH_RECEIVED);
  conn.protocolError(RC.PROTOCOL_ERROR, 'protocol_error');
}
