import type { ClientConnectedEvent, ClientDisconnectedEvent, Detach, Hooks } from '../core/hooks.js';
import type { SysHost } from '../core/ports.js';

/**
 * EMQX's presence module: `$SYS/brokers/<node>/clients/<clientid>/connected` and
 * `.../disconnected` events with the same JSON payloads as EMQX 4.x. A subscriber of the
 * client.* hooks, switched on and off at runtime (on at start with `presenceEvents`).
 */
export class Presence {
  private detach: Detach[] = [];

  constructor(
    private readonly hooks: Hooks,
    private readonly host: SysHost,
  ) {}

  get enabled(): boolean {
    return this.detach.length > 0;
  }

  enable(): void {
    if (this.enabled) return;
    this.detach = [this.hooks.clientConnected.on((e) => this.connected(e)), this.hooks.clientDisconnected.on((e) => this.disconnected(e))];
  }

  disable(): void {
    for (const d of this.detach) d();
    this.detach = [];
  }

  private topic(clientId: string, event: string): string {
    return `$SYS/brokers/${this.host.nodeName}/clients/${clientId}/${event}`;
  }

  private connected({ client: c }: ClientConnectedEvent): void {
    const payload = {
      username: c.username ?? null,
      ts: Date.now(),
      sockport: c.sockport,
      proto_ver: c.protoVer,
      proto_name: c.protoName,
      keepalive: c.keepalive,
      ipaddress: c.peerhost,
      expiry_interval: c.expiryInterval,
      connected_at: c.connectedAt,
      connack: 0,
      clientid: c.clientid,
      clean_start: c.cleanStart,
    };
    this.host.publishSys(this.topic(c.clientid, 'connected'), JSON.stringify(payload));
  }

  private disconnected({ client: c, reason, disconnectedAt }: ClientDisconnectedEvent): void {
    const payload = { username: c.username ?? null, ts: Date.now(), reason, disconnected_at: disconnectedAt, clientid: c.clientid };
    this.host.publishSys(this.topic(c.clientid, 'disconnected'), JSON.stringify(payload));
  }
}
