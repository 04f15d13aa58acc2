import type { IPubrelPacket } from 'mqtt-packet';
import { metricIndex } from '../../metrics/metrics.js';
import type { ClientConnection } from '../../core/ports.js';
import { RC } from '../reason-codes.js';

const M_PUBREL_RECEIVED = metricIndex('packets.pubrel.received');
const M_PUBREL_MISSED = metricIndex('packets.pubrel.missed');

/** PUBREL [MQTT-3.6]: the client releases a QoS 2 message it sent; the identifier is free again. */
export function handlePubrel(conn: ClientConnection, p: IPubrelPacket): void {
  const m = conn.broker.metrics;
  m.inc(M_PUBREL_RECEIVED);
  const id = p.messageId ?? 0;
  if (conn.session!.deleteAwaitingRel(id)) return conn.sendAck('pubcomp', id, RC.SUCCESS);
  m.inc(M_PUBREL_MISSED);
  conn.sendAck('pubcomp', id, RC.PACKET_IDENTIFIER_NOT_FOUND);
}
