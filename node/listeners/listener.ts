import type { AddressInfo, Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Accept, ConnListener, ListenedConnection } from '../core/ports.js';
import type { ShutdownReason } from '../protocol/reason-codes.js';
import type { ListenerRow } from '../../shared/api/listeners.js';

/** Where a listener listens, as EMQX shows it: the port alone when bound to every address, else address:port. */
export function listenOn(bind: string, port: number): string {
  return bind === '0.0.0.0' || bind === '::' ? String(port) : `${bind}:${port}`;
}

/** Anything the listeners API shows a row for: the MQTT listeners, and a standalone node's management API. */
export interface ListenerInfo {
  info(): ListenerRow;
}

/** Strips the IPv4-mapped prefix so peers read as EMQX shows them ("127.0.0.1"). */
export function peerAddress(addr: string | undefined): string {
  if (!addr) return '';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

/**
 * One MQTT listener: its server, its connection count (max_conns enforced at accept) and
 * why its connections ended (shutdown_count).
 */
export class Listener implements ConnListener, ListenerInfo {
  current = 0;
  /** connections that have not completed CONNECT (for the idle timeout) */
  readonly unconnected = new Set<ListenedConnection>();
  readonly shutdownCount = new Map<string, number>();
  port = 0;

  constructor(
    /** makes the connection of an accepted stream (wired in node/core/compose.ts) */
    private readonly open: Accept,
    /** as EMQX names it: mqtt:tcp, mqtt:ws, mqtt:ssl */
    readonly protocol: string,
    readonly server: Server,
    private readonly bind: string,
    private readonly wantedPort: number,
    readonly maxConns: number,
  ) {}

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.wantedPort, this.bind, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  /** Accepts a transport stream, or refuses it when the listener is full. */
  accept(socket: Duplex, peerHost: string, peerPort: number, certUsername?: string): ListenedConnection | undefined {
    if (this.current >= this.maxConns) {
      this.count('max_conns');
      socket.destroy();
      return undefined;
    }
    this.current++;
    const conn = this.open(socket, this, peerHost, peerPort, certUsername);
    this.unconnected.add(conn);
    return conn;
  }

  /** Its CONNECT was accepted: no longer subject to the idle timeout. */
  connected(conn: ListenedConnection): void {
    this.unconnected.delete(conn);
  }

  /** Called once per connection when it ends. */
  closed(conn: ListenedConnection, reason: ShutdownReason): void {
    this.unconnected.delete(conn);
    this.current--;
    this.count(reason);
  }

  private count(reason: string): void {
    this.shutdownCount.set(reason, (this.shutdownCount.get(reason) ?? 0) + 1);
  }

  /** What the listeners API reports for this listener (GET /api/v4/listeners). */
  info(): ListenerRow {
    return {
      protocol: this.protocol,
      listen_on: listenOn(this.bind, this.port),
      acceptors: 1, // one event loop accepts for every listener
      max_conns: this.maxConns,
      current_conns: this.current,
      shutdown_count: this.shutdownCount.size === 0 ? [] : Object.fromEntries(this.shutdownCount),
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
