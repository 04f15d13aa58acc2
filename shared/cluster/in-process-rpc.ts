/**
 * The RPC transport of standalone mode: nodes (and a gateway) in one process, connected
 * through a hub. It behaves like the NATS transport where callers could tell the
 * difference: replies arrive asynchronously, never within the calling tick; params and
 * replies are copied through JSON text; errors carry the same codes. A node's in-process
 * transport adds forwarding over the same hub (node/cluster/forwarding/in-process.ts).
 */
import { CODE } from '../result-codes.js';
import { RpcError, type RpcMethod, type RpcParams, type RpcReply } from '../rpc.js';
import type { RequestHandler, RpcTransport } from './rpc-transport.js';
import { answer, decodeResult, encodeRequest, errorMessage, rpcFailure } from './rpc-wire.js';

/** What the transports of one process share: who answers which node. Tests make their own. */
export class InProcessHub {
  private readonly servers = new Map<string, RequestHandler>();

  /** @internal */
  addServer(node: string, handler: RequestHandler): void {
    // Two answerers for one node would be a wiring bug; NATS could not tell, we can.
    if (this.servers.has(node)) throw new Error(`node ${node} is already served on this hub`);
    this.servers.set(node, handler);
  }

  /** @internal */
  removeServer(node: string, handler: RequestHandler): void {
    if (this.servers.get(node) === handler) this.servers.delete(node);
  }

  /** @internal */
  server(node: string): RequestHandler | undefined {
    return this.servers.get(node);
  }
}

/** The process-wide hub standalone mode uses. */
export const defaultHub = new InProcessHub();

export class InProcessRpcTransport implements RpcTransport {
  readonly hub: InProcessHub;
  private readonly served = new Map<string, RequestHandler>();
  private closed = false;

  constructor(hub: InProcessHub = defaultHub) {
    this.hub = hub;
  }

  get connected(): boolean {
    return true;
  }

  async start(): Promise<void> {}

  async serve(node: string, handler: RequestHandler): Promise<void> {
    if (this.closed) throw new Error('transport closed');
    this.hub.addServer(node, handler);
    this.served.set(node, handler);
  }

  request<M extends RpcMethod>(node: string, method: M, params: RpcParams<M>, timeoutMs: number): Promise<RpcReply<M>> {
    return new Promise<RpcReply<M>>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const timer = setTimeout(() => settle(() => reject(rpcFailure(node, 'timeout'))), timeoutMs);

      let body: string;
      try {
        body = encodeRequest(method, params);
      } catch (err) {
        settle(() => reject(new RpcError(CODE.UNKNOWN, `cannot encode rpc params: ${errorMessage(err)}`, node)));
        return;
      }
      // The handler runs in a later macrotask, and its reply arrives in yet another, as over a socket.
      setImmediate(() => {
        if (this.closed) return settle(() => reject(rpcFailure(node, 'transport closed')));
        const handler = this.hub.server(node);
        if (!handler) return settle(() => reject(rpcFailure(node, 'no responders')));
        void answer(handler, body).then((reply) =>
          setImmediate(() =>
            settle(() => {
              try {
                resolve(decodeResult(node, reply) as RpcReply<M>);
              } catch (err) {
                reject(err);
              }
            }),
          ),
        );
      });
    });
  }

  /** Never fires: there is no connection to lose. */
  onReconnect(_cb: () => void): void {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [node, handler] of this.served) this.hub.removeServer(node, handler);
    this.served.clear();
  }
}
