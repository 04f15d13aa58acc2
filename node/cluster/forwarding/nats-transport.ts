/**
 * A node's transport in clustered mode: RPC (shared/cluster/nats/rpc.ts) and forwarding
 * (nats-forwarder.ts) over the one NATS connection of the process (docs/forwarding.md,
 * "Connections").
 */
import { NatsLink, type NatsLinkOptions } from '../../../shared/cluster/nats/connection.js';
import { NatsRpcTransport } from '../../../shared/cluster/nats/rpc.js';
import type { RequestHandler } from '../../../shared/cluster/rpc-transport.js';
import type { RpcMethod, RpcParams, RpcReply } from '../../../shared/rpc.js';
import { NatsForwarder, type NatsForwarderOptions } from './nats-forwarder.js';
import type { Transport } from './transport.js';

export interface NatsTransportOptions extends NatsLinkOptions, NatsForwarderOptions {}

/** Forwarding is this class's own (no call in between on the hot path); RPC goes to the RPC transport. */
export class NatsTransport extends NatsForwarder implements Transport {
  private readonly rpc: NatsRpcTransport;

  constructor(opts: NatsTransportOptions) {
    const link = new NatsLink(opts);
    // first on the link: on connecting, the RPC subscriptions are made before the forwarding ones
    const rpc = new NatsRpcTransport(link);
    super(link, opts);
    this.rpc = rpc;
  }

  get connected(): boolean {
    return this.link.connected;
  }

  /**
   * Resolves once connected; while NATS is down it keeps trying (a node may start before
   * NATS). serve() and onForward() may be called before it resolves; their subscriptions
   * are made on connecting. Rejects only if close() is called first.
   */
  start(): Promise<void> {
    return this.link.start();
  }

  serve(node: string, handler: RequestHandler): Promise<void> {
    return this.rpc.serve(node, handler);
  }

  request<M extends RpcMethod>(node: string, method: M, params: RpcParams<M>, timeoutMs: number): Promise<RpcReply<M>> {
    return this.rpc.request(node, method, params, timeoutMs);
  }

  onReconnect(cb: () => void): void {
    this.link.onReconnect(cb);
  }

  /** Drains (bounded by a timeout), then closes. Safe to call more than once, and before start() resolved. */
  close(): Promise<void> {
    return this.link.close();
  }
}
