import type { Broker } from '../broker.js';
import type { Connection } from '../protocol/connection.js';

/**
 * EMQX's presence module: `$SYS/brokers/<node>/clients/<clientid>/connected` and
 * `.../disconnected` events with the same JSON payloads as EMQX 4.x.
 */
export class Presence {
  constructor(private readonly broker: Broker) {}

  private topic(clientId: string, event: string): string {
    return `$SYS/brokers/${this.broker.nodeName}/clients/${clientId}/${event}`;
  }

  connected(conn: Connection): void {
    if (!this.broker.cfg.presenceEvents) return;
    const i = conn.info!;
    const payload = {
      username: i.username ?? null,
      ts: Date.now(),
      sockport: conn.listener.port,
      proto_ver: conn.version,
      proto_name: i.protoName,
      keepalive: i.keepalive,
      ipaddress: conn.peerHost,
      expiry_interval: conn.session!.expiryInterval,
      connected_at: i.connectedAt,
      connack: 0,
      clientid: i.clientId,
      clean_start: i.cleanStart,
    };
    this.broker.publishSys(this.topic(i.clientId, 'connected'), JSON.stringify(payload));
  }

  disconnected(conn: Connection, reason: string): void {
    if (!this.broker.cfg.presenceEvents) return;
    const i = conn.info!;
    const payload = { username: i.username ?? null, ts: Date.now(), reason, disconnected_at: Date.now(), clientid: i.clientId };
    this.broker.publishSys(this.topic(i.clientId, 'disconnected'), JSON.stringify(payload));
  }
}
