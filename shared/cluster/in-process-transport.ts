/**
 * The transport of standalone mode: nodes (and a gateway) in one process, connected through
 * a hub. It behaves like the NATS transport where callers could tell the difference: replies
 * and forwards arrive asynchronously, never within the calling tick; params and replies are
 * copied through JSON text; forwarded bytes are copied at send time; errors carry the same
 * codes.
 */
import type { Logger } from '../logger.js';
import { RpcError, type RpcMethod, type RpcParams, type RpcReply } from '../rpc.js';
import { answer, decodeResult, encodeRequest, rpcFailure, UNKNOWN_ERROR } from './rpc-wire.js';
import { encodeMessage } from './message-codec.js';
import type { ForwardPayload, ForwardTarget, RequestHandler, Transport } from './transport.js';

type ForwardHandler = (target: ForwardTarget, encoded: Uint8Array) => void;

/** What the transports of one process share: who answers which node. Tests make their own. */
export class InProcessHub {
  private readonly servers = new Map<string, RequestHandler>();
  private readonly forwards = new Map<string, Set<ForwardHandler>>();

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

  /** @internal */
  addForward(node: string, handler: ForwardHandler): void {
    let set = this.forwards.get(node);
    if (!set) this.forwards.set(node, (set = new Set()));
    set.add(handler);
  }

  /** @internal */
  removeForward(node: string, handler: ForwardHandler): void {
    const set = this.forwards.get(node);
    if (!set) return;
    set.delete(handler);
    if (set.size === 0) this.forwards.delete(node);
  }

  /** @internal */
  forwardHandlers(node: string): ForwardHandler[] {
    return [...(this.forwards.get(node) ?? [])];
  }
}

/** The process-wide hub standalone mode uses. */
export const defaultHub = new InProcessHub();

export interface InProcessTransportOptions {
  hub?: InProcessHub;
  /** where a throwing forward handler is reported */
  log?: Logger;
}

export class InProcessTransport implements Transport {
  private readonly hub: InProcessHub;
  private readonly log?: Logger;
  private readonly served = new Map<string, RequestHandler>();
  private readonly listening: [string, ForwardHandler][] = [];
  private closed = false;

  constructor(opts: InProcessTransportOptions = {}) {
    this.hub = opts.hub ?? defaultHub;
    this.log = opts.log;
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
        const msg = err instanceof Error ? err.message : String(err);
        settle(() => reject(new RpcError(UNKNOWN_ERROR, `cannot encode rpc params: ${msg}`, node)));
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

  async onForward(node: string, handler: ForwardHandler): Promise<void> {
    if (this.closed) throw new Error('transport closed');
    this.hub.addForward(node, handler);
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
      for (const h of this.hub.forwardHandlers(node)) {
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
  flush(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Never fires: there is no connection to lose. */
  /** In-process forwards are handed over at once: never behind. */
  readonly backlogged = false;

  onDrained(cb: () => void): void {
    setImmediate(cb);
  }

  onReconnect(_cb: () => void): void {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [node, handler] of this.served) this.hub.removeServer(node, handler);
    this.served.clear();
    for (const [node, handler] of this.listening) this.hub.removeForward(node, handler);
    this.listening.length = 0;
  }
}

function copyTarget(t: ForwardTarget): ForwardTarget {
  const out: ForwardTarget = { kind: t.kind };
  if (t.filter !== undefined) out.filter = t.filter;
  if (t.group !== undefined) out.group = t.group;
  return out;
}
