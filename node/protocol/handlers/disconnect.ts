import type { IDisconnectPacket } from 'mqtt-packet';
import { metricIndex } from '../../metrics/metrics.js';
import type { ClientConnection } from '../../core/ports.js';
import { RC } from '../reason-codes.js';

const M_DISCONNECT_RECEIVED = metricIndex('packets.disconnect.received');

/** DISCONNECT [MQTT-3.14]: a clean close; the will is dropped unless an MQTT 5 client asks for it. */
export function handleDisconnect(conn: ClientConnection, p: IDisconnectPacket): void {
  conn.broker.metrics.inc(M_DISCONNECT_RECEIVED);
  const info = conn.info!;
  const session = conn.session!;
  if (conn.version === 5) {
    const sei = p.properties?.sessionExpiryInterval;
    if (sei !== undefined) {
      // [MQTT-3.14.2-2] a session that ends on close cannot be made persistent at DISCONNECT
      if (session.expiryInterval === 0 && sei > 0) return conn.protocolError(RC.PROTOCOL_ERROR, 'protocol_error');
      session.expiryInterval = sei;
    }
    if (p.reasonCode !== RC.DISCONNECT_WITH_WILL) info.will = undefined;
  } else {
    info.will = undefined; // [MQTT-3.14.4-3]
  }
  conn.close('normal');
}
