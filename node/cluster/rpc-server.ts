import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import { dispatchRpc, rpcHandlers } from '../rpc/index.js';
import type { Transport } from './forwarding/transport.js';
import type { ClientConflicts } from './conflicts.js';
import type { ClientRegistry } from './registry.js';

/**
 * The node's RPC service (shared/rpc.ts): the management API's methods, answered from this
 * node's broker, session.takeover, answered by the clientid registry, and session.conflict.
 */
export class RpcServer {
  private readonly handlers: RpcHandlers;

  constructor(b: Broker, registry: ClientRegistry, conflicts: ClientConflicts) {
    this.handlers = rpcHandlers(b, {
      'session.takeover': (p) => registry.giveUpSession(p.clientid, p.transfer, p.toNode),
      'session.conflict': (p) => conflicts.answer(p.clientid, p.node, p.connectedAt, p.takes === true),
    });
  }

  /** Answers the requests made to `node` over the transport. */
  serve(transport: Transport, node: string): Promise<void> {
    return transport.serve(node, (method, params) => dispatchRpc(this.handlers, method, params));
  }
}
