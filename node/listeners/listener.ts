import type { AddressInfo, Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Accept, ConnListener, ListenedConnection } from '../core/ports.js';
import type { ShutdownReason } from '../protocol/reason-codes.js';
import type { ListenerRow } from '../../shared/api/listeners.js';
import { ConnRateLimit } from './conn-rate.js';

/** What a listener accepts: how many connections at once, and how fast new ones may come. */
export interface AcceptLimits {
  maxConns: number;
  /** new connections a second on the listener (0: no limit) */
  maxConnRate: number;
  /** new connections a second from one source address (0: no limit) */
  maxConnRatePerIp: number;
  /** CONNECT must have come by then; a transport's own handshake (TLS, WebSocket upgrade) too */
  idleTimeoutMs: number;
}

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
 * One MQTT listener: its server, its connection count (max_conns and the connection rate
 * enforced at accept) and why its connections ended (shutdown_count).
 */
export class Listener implements ConnListener, ListenerInfo {
  current = 0;
  /** connections that have not completed CONNECT (for the idle timeout) */
  readonly unconnected = new Set<ListenedConnection>();
  readonly shutdownCount = new Map<string, number>();
  port = 0;
  readonly maxConns: number;
  private readonly rate: ConnRateLimit | undefined;

  constructor(
    /** makes the connection of an accepted stream (wired in node/core/compose.ts) */
    private readonly open: Accept,
    /** as EMQX names it: mqtt:tcp, mqtt:ws, mqtt:ssl */
    readonly protocol: string,
    readonly server: Server,
    private readonly bind: string,
    private readonly wantedPort: number,
    limits: AcceptLimits,
  ) {
    this.maxConns = limits.maxConns;
    this.rate = limits.maxConnRate > 0 || limits.maxConnRatePerIp > 0 ? new ConnRateLimit(limits.maxConnRate, limits.maxConnRatePerIp) : undefined;
  }

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

  /**
   * Accepts a transport stream, or refuses it (closed before any MQTT, counted) when the
   * listener is full or new connections come faster than its rate limits (unless the
   * transport checked them already: `admitted`).
   */
  accept(socket: Duplex, peerHost: string, peerPort: number, admitted = false, certUsername?: string): ListenedConnection | undefined {
    if (this.current >= this.maxConns) {
      this.count('max_conns');
      socket.destroy();
      return undefined;
    }
    if (!admitted && !this.admit(peerHost)) {
      socket.destroy();
      return undefined;
    }
    this.current++;
    const conn = this.open(socket, this, peerHost, peerPort, certUsername);
    this.unconnected.add(conn);
    return conn;
  }

  /** Whether a new connection from `peerHost` is within the rate limits (counted when not). */
  private admit(peerHost: string): boolean {
    if (this.rate === undefined || this.rate.admit(peerHost, Date.now())) return true;
    this.count('conn_rate_limit');
    return false;
  }

  /**
   * For TLS and WebSocket: the rate limits are checked as each TCP connection comes, before
   * a handshake or upgrade costs anything; accept() is then called with `admitted`.
   */
  admitOnConnection(): void {
    this.server.on('connection', (raw: Socket) => {
      if (!this.admit(peerAddress(raw.remoteAddress))) raw.destroy();
    });
  }

  /** Once a second: forgets the rate limit's addresses that have been quiet long enough. */
  prune(now: number): void {
    this.rate?.prune(now);
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
