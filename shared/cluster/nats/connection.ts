/**
 * The one NATS connection of a process, shared by RPC (rpc.ts) and, on a node, forwarding
 * (node/cluster/forwarding/): connecting and reconnecting, the status it watches, and which
 * connection publishing goes to right now (docs/forwarding.md, "Connections").
 *
 * NATS going away: the client reconnects forever; the users are told (NatsLinkUser) and
 * onReconnect() callbacks run once it is back. Nothing the connection does throws out of
 * this class or leaves a promise rejected unhandled.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../logger.js';
import { errorMessage } from '../rpc-wire.js';

export interface NatsLinkOptions {
  /**
   * e.g. nats://127.0.0.1:4222, or a comma list of a NATS cluster's servers: the client
   * picks one, learns the others from the cluster's gossip and moves to another on a loss
   */
  url: string;
  /** connection name shown by the NATS server's monitoring */
  name?: string;
  log?: Logger;
  /** how long a forwarder's flush() waits before rejecting, and serve() or onForward() for the server to have the subscription (default 2000 ms) */
  flushTimeoutMs?: number;
}

/** What shares the connection is told of it, in the order the users were added. */
export interface NatsLinkUser {
  /** the first connection is made: subscribe (the client re-sends subscriptions after a reconnect itself) */
  connected?(nc: NatsConnection): void;
  /** a lost connection came back (before the onReconnect() callbacks run) */
  reconnected?(): void;
  /** the connection was lost or closed: nothing is sent now */
  disconnected?(): void;
  /** close() was called: the last publishes, while the connection is still usable */
  closing?(): void;
  /** close() was called and nothing may be sent any more: stop timers, settle what waits */
  closed?(): void;
}

const DEFAULT_FLUSH_TIMEOUT_MS = 2_000;
// Short: on a LAN a restarted NATS server is back within a second; waiting 2 s (the
// client's default) would stretch every outage.
const RECONNECT_TIME_WAIT_MS = 250;
const RECONNECT_JITTER_MS = 100;
// A server that vanished without closing the socket (host down, partition) is noticed
// after PING_INTERVAL * MAX_PINGS_OUT instead of the client's default 4 minutes.
const PING_INTERVAL_MS = 5_000;
const MAX_PINGS_OUT = 2;
// close() first drains (answers in flight get out); it must not wait long on a dead server.
const DRAIN_TIMEOUT_MS = 2_000;

/** Why a NATS request failed, in a few words (for an RpcError message, or to tell "no responders"). */
export function requestFailureReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'timeout';
  // the client reports NATS's 503 status as a RequestError caused by NoRespondersError
  if ((err as { isNoResponders?: () => boolean }).isNoResponders?.() || err.name === 'NoRespondersError') return 'no responders';
  if (err.name === 'ClosedConnectionError') return 'connection closed';
  return err.message || err.name;
}

/** The servers of a NATS_URL: one URL or a comma list (blanks around the commas ignored). */
export function natsServers(url: string): string[] {
  return url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** nc.flush() (a PING; resolves on its PONG), rejecting rather than throwing when the client cannot send it. */
export function ping(nc: NatsConnection): Promise<void> {
  try {
    return nc.flush();
  } catch (err) {
    return Promise.reject(err);
  }
}

export class NatsLink {
  readonly flushTimeoutMs: number;
  readonly log?: Logger;
  private readonly opts: NatsLinkOptions;
  private client?: NatsConnection;
  private starting?: Promise<void>;
  private isConnected = false;
  private isClosing = false;
  /** connections made so far (first connect and reconnects) */
  private made = 0;
  /** connId() and the max_payload of the nc.info object they were made from (once per connection, not per call) */
  private idOf?: { info: object; id: string; maxPayload: number };
  private readonly users: NatsLinkUser[] = [];
  private readonly reconnectCbs: (() => void)[] = [];

  constructor(opts: NatsLinkOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.flushTimeoutMs = opts.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS;
  }

  /** the client, once the first connection is made */
  get nc(): NatsConnection | undefined {
    return this.client;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** close() was called */
  get closing(): boolean {
    return this.isClosing;
  }

  /** connections made so far: 1 until the first reconnect */
  get connections(): number {
    return this.made;
  }

  /** Adds a user of the connection; those added first are told first. */
  use(user: NatsLinkUser): void {
    this.users.push(user);
  }

  /**
   * Resolves once connected; while NATS is down it keeps trying (a node may start before
   * NATS). Users may subscribe before it resolves: they are told on connecting. Rejects
   * only if close() is called first.
   */
  start(): Promise<void> {
    this.starting ??= this.connect();
    return this.starting;
  }

  private async connect(): Promise<void> {
    if (this.isClosing) throw new Error('nats transport closed');
    const nc = await connect({
      servers: natsServers(this.opts.url),
      name: this.opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_TIME_WAIT_MS,
      reconnectJitter: RECONNECT_JITTER_MS,
      waitOnFirstConnect: true,
      pingInterval: PING_INTERVAL_MS,
      maxPingOut: MAX_PINGS_OUT,
      // Otherwise every request() builds two Errors in advance, for the caller's stack should
      // it fail (~40 µs a request, 7 requests a client list page); an RpcError names the node
      // and the reason, which is what its reader needs.
      noAsyncTraces: true,
      // Called before every dial: the only way to stop waitOnFirstConnect's endless
      // dialling when close() comes before NATS ever answered (a throw rejects connect()).
      reconnectToServer: () => {
        if (this.isClosing) throw new Error('nats transport closed');
        return null;
      },
    }).catch((err: unknown) => {
      if (this.isClosing) throw new Error('nats transport closed before connecting');
      throw new Error(`nats transport: cannot connect to ${this.opts.url}: ${errorMessage(err)}`);
    });
    if (this.isClosing) {
      // close() ran while the last dial was completing
      await nc.close().catch(() => {});
      throw new Error('nats transport closed');
    }
    this.client = nc;
    this.isConnected = true;
    this.made++;
    this.log?.info({ server: nc.getServer() }, 'connected to NATS');
    void this.watchStatus(nc);
    for (const u of this.users) u.connected?.(nc);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    try {
      for await (const s of nc.status()) {
        switch (s.type) {
          case 'disconnect':
            this.isConnected = false;
            this.log?.warn({ server: s.server }, 'disconnected from NATS');
            for (const u of this.users) u.disconnected?.();
            break;
          case 'reconnect':
            this.isConnected = true;
            this.made++;
            this.log?.info({ server: s.server }, 'reconnected to NATS');
            for (const u of this.users) u.reconnected?.();
            // callers redo what they own
            for (const cb of [...this.reconnectCbs]) {
              try {
                cb();
              } catch (err) {
                this.log?.error({ err }, 'onReconnect callback threw');
              }
            }
            break;
          case 'close':
            this.isConnected = false;
            for (const u of this.users) u.disconnected?.();
            break;
          case 'error':
            this.log?.warn({ err: s.error }, 'NATS error');
            break;
          case 'staleConnection':
            this.log?.warn('NATS connection stale');
            break;
          case 'slowConsumer':
            this.log?.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'NATS slow consumer');
            break;
          default:
            break;
        }
      }
    } catch (err) {
      this.log?.error({ err }, 'NATS status watch ended');
    }
    this.isConnected = false;
  }

  /**
   * Which connection publishing goes to right now, or undefined when not connected: the
   * server's id and the id it gave this client, unique per connection.
   */
  connId(): string | undefined {
    if (!this.isConnected || this.isClosing) return undefined;
    const info = this.client?.info;
    if (!info) return undefined;
    // the client replaces nc.info with each INFO the server sends (a new connection's first)
    let c = this.idOf;
    if (c?.info !== info) this.idOf = c = { info, id: `${info.server_id}/${info.client_id}`, maxPayload: info.max_payload ?? Infinity };
    return c.id;
  }

  /** what connId() last returned, also once that connection is gone */
  get lastId(): string | undefined {
    return this.idOf?.id;
  }

  /** the max_payload of the server connId() last saw (Infinity before it saw one) */
  get maxPayload(): number {
    return this.idOf?.maxPayload ?? Infinity;
  }

  /**
   * Resolves once the server answered a PING sent now (so a subscription made before has
   * reached it), bounded by flushTimeoutMs; a rejection of the loser is absorbed.
   */
  settleFlush(nc: NatsConnection): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`NATS flush timed out after ${this.flushTimeoutMs} ms`)), this.flushTimeoutMs);
      nc.flush().then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(new Error(`NATS flush failed: ${errorMessage(err)}`));
        },
      );
    });
  }

  onReconnect(cb: () => void): void {
    this.reconnectCbs.push(cb);
  }

  /** Drains (bounded by a timeout), then closes. Safe to call more than once, and before start() resolved. */
  async close(): Promise<void> {
    if (this.isClosing) return;
    for (const u of this.users) u.closing?.();
    this.isClosing = true;
    for (const u of this.users) u.closed?.();
    const nc = this.client;
    if (!nc) {
      // a pending start() rejects at its next dial attempt
      await this.starting?.catch(() => {});
      return;
    }
    if (this.isConnected) {
      let timer: NodeJS.Timeout | undefined;
      const drained = nc.drain().then(
        () => true,
        () => false,
      );
      const ok = await Promise.race([drained, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), DRAIN_TIMEOUT_MS)))]);
      clearTimeout(timer);
      if (ok) {
        this.isConnected = false;
        return;
      }
    }
    await nc.close().catch(() => {});
    this.isConnected = false;
  }
}
