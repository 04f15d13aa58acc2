import type { RpcMethod, RpcParams, RpcReply } from '../rpc.js';

/** A request handler: the node's RPC dispatcher. Throwing an RpcError answers its code. */
export type RequestHandler = (method: string, params: unknown) => Promise<unknown>;

/**
 * Request/reply RPC addressed to one node: all a gateway or a CLI needs of the cluster's
 * transport. Two implementations: in-process (standalone, in-process-rpc.ts) and NATS
 * (nats/rpc.ts). A node's transport adds forwarding (node/cluster/forwarding/).
 */
export interface RpcTransport {
  /** connects; resolves when usable */
  start(): Promise<void>;
  /** answers RPC addressed to `node` with `handler` */
  serve(node: string, handler: RequestHandler): Promise<void>;
  /** calls one node; rejects with RpcError 101 (naming the node) on timeout, no responder or transport failure */
  request<M extends RpcMethod>(node: string, method: M, params: RpcParams<M>, timeoutMs: number): Promise<RpcReply<M>>;
  /** called after a lost connection comes back */
  onReconnect(cb: () => void): void;
  readonly connected: boolean;
  close(): Promise<void>;
}
