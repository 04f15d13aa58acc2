/**
 * A node's transport in standalone mode: RPC over the in-process hub
 * (shared/cluster/in-process-rpc.ts) and forwarding between the nodes on the same hub. It
 * behaves like NATS where callers could tell the difference: forwards arrive
 * asynchronously, in order, their bytes copied at send time, each listener its own copy
 * (docs/forwarding.md describes the NATS one).
 */
import { defaultHub, InProcessRpcTransport, type InProcessHub } from '../../../shared/cluster/in-process-rpc.js';
import { encodeMessage } from '../../../shared/cluster/message-codec.js';
import type { RequestHandler } from '../../../shared/cluster/rpc-transport.js';
import type { Logger } from '../../../shared/logger.js';
import type { RpcMethod, RpcParams, RpcReply } from '../../../shared/rpc.js';
import type { ForwardHandler, ForwardPayload, ForwardTarget, Forwarder, Transport, UnreachableTaker } from './transport.js';

/** Who listens for forwards to which node, per hub (the hub itself knows the RPC servers only). */
const listenersOf = new WeakMap<InProcessHub, Map<string, Set<ForwardHandler>>>();

function listenersOn(hub: InProcessHub): Map<string, Set<ForwardHandler>> {
  let m = listenersOf.get(hub);
  if (!m) listenersOf.set(hub, (m = new Map()));
  return m;
}

export interface InProcessTransportOptions {
  hub?: InProcessHub;
  /** where a throwing forward handler is reported */
  log?: Logger;
}

export class InProcessForwarder implements Forwarder {
  private readonly listeners: Map<string, Set<ForwardHandler>>;
  private readonly log?: Logger;
  private readonly listening: [string, ForwardHandler][] = [];
  protected closed = false;

  constructor(opts: InProcessTransportOptions = {}) {
    this.listeners = listenersOn(opts.hub ?? defaultHub);
    this.log = opts.log;
  }

  async onForward(node: string, handler: ForwardHandler): Promise<void> {
    if (this.closed) throw new Error('transport closed');
    let set = this.listeners.get(node);
    if (!set) this.listeners.set(node, (set = new Set()));
    set.add(handler);
    this.listening.push([node, handler]);
  }

  /** In-process forwards are always delivered: `reliable` changes nothing. */
  forward(node: string, target: ForwardTarget, payload: ForwardPayload, _reliable?: boolean): boolean {
    if (this.closed) return false;
    // Copied now: the caller may reuse its buffer, and a receiver must not see a shared object.
    const bytes = payload instanceof Uint8Array ? payload.slice() : encodeMessage(payload);
    const tgt = copyTarget(target);
    // setImmediate runs callbacks in order, so forwards to one node keep their order (as NATS does).
    setImmediate(() => {
      for (const h of [...(this.listeners.get(node) ?? [])]) {
        try {
          // each receiver its own copy, as each NATS subscriber gets its own message
          h(copyTarget(tgt), bytes.slice());
        } catch (err) {
          this.log?.error({ err, node }, 'forward handler threw');
        }
      }
    });
    return true;
  }

  /** Resolves after every forward sent before it has been delivered. */
  flush(_node?: string): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** In-process forwards are always delivered: nothing is ever unreachable. */
  onUnreachable(_taker: UnreachableTaker): void {}

  /** In-process forwards are handed over at once: never behind. */
  readonly backlogged = false;

  onDrained(cb: () => void): void {
    setImmediate(cb);
  }

  /** Stops listening. */
  protected stopForwarding(): void {
    this.closed = true;
    for (const [node, handler] of this.listening) {
      const set = this.listeners.get(node);
      if (!set) continue;
      set.delete(handler);
      if (set.size === 0) this.listeners.delete(node);
    }
    this.listening.length = 0;
  }
}

/** Forwarding is this class's own; RPC goes to the in-process RPC transport on the same hub. */
export class InProcessTransport extends InProcessForwarder implements Transport {
  private readonly rpc: InProcessRpcTransport;

  constructor(opts: InProcessTransportOptions = {}) {
    super(opts);
    this.rpc = new InProcessRpcTransport(opts.hub ?? defaultHub);
  }

  get connected(): boolean {
    return true;
  }

  async start(): Promise<void> {}

  serve(node: string, handler: RequestHandler): Promise<void> {
    return this.rpc.serve(node, handler);
  }

  request<M extends RpcMethod>(node: string, method: M, params: RpcParams<M>, timeoutMs: number): Promise<RpcReply<M>> {
    return this.rpc.request(node, method, params, timeoutMs);
  }

  onReconnect(cb: () => void): void {
    this.rpc.onReconnect(cb);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.stopForwarding();
    await this.rpc.close();
  }
}

function copyTarget(t: ForwardTarget): ForwardTarget {
  const out: ForwardTarget = { kind: t.kind };
  if (t.filter !== undefined) out.filter = t.filter;
  if (t.group !== undefined) out.group = t.group;
  if (t.clientid !== undefined) out.clientid = t.clientid;
  return out;
}
