import type { Packet } from 'mqtt-packet';
import type { ClientConnection } from '../../core/ports.js';
import { RC } from '../reason-codes.js';
import { handleAuth } from './auth.js';
import { handleConnect } from './connect.js';
import { handleDisconnect } from './disconnect.js';
import { handlePingreq } from './pingreq.js';
import { handlePuback } from './puback.js';
import { handlePubcomp } from './pubcomp.js';
import { handlePublish } from './publish.js';
import { handlePubrec } from './pubrec.js';
import { handlePubrel } from './pubrel.js';
import { handleSubscribe } from './subscribe.js';
import { handleUnsubscribe } from './unsubscribe.js';

export { handlePublish };

/** One handler per packet type; anything a server must not receive closes the connection. */
export function handlePacket(conn: ClientConnection, packet: Packet): void {
  switch (packet.cmd) {
    case 'connect':
      return handleConnect(conn, packet);
    case 'publish':
      return handlePublish(conn, packet);
    case 'puback':
      return handlePuback(conn, packet);
    case 'pubrec':
      return handlePubrec(conn, packet);
    case 'pubrel':
      return handlePubrel(conn, packet);
    case 'pubcomp':
      return handlePubcomp(conn, packet);
    case 'subscribe':
      return handleSubscribe(conn, packet);
    case 'unsubscribe':
      return handleUnsubscribe(conn, packet);
    case 'pingreq':
      return handlePingreq(conn);
    case 'disconnect':
      return handleDisconnect(conn, packet);
    case 'auth':
      return handleAuth(conn);
    default:
      // CONNACK, SUBACK, UNSUBACK, PINGRESP only travel server → client
      return conn.protocolError(RC.PROTOCOL_ERROR, 'protocol_error');
  }
}
