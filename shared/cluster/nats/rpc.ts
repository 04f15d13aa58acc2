/**
 * RPC over NATS: a request is published on rpcSubject(node) with the JSON body
 * `{method, params}`; the node answers with the JSON of an RpcResult (see rpc-wire.ts).
 * While NATS is away, request() fails at once with 101 (docs/forwarding.md, "NATS going away").
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { CODE } from '../../result-codes.js';
import { RpcError, type RpcMethod, type RpcParams, type RpcReply } from '../../rpc.js';
import type { RequestHandler, RpcTransport } from '../rpc-transport.js';
import { answer, decodeResult, encodeRequest, errorMessage, rpcFailure } from '../rpc-wire.js';
import { rpcSubject } from '../subjects.js';
import { NatsLink, requestFailureReason, type NatsLinkOptions } from './connection.js';

const utf8Dec = new TextDecoder();

export class NatsRpcTransport implements RpcTransport {
  readonly link: NatsLink;
  private readonly servers = new Map<string, RequestHandler>();

  /** over `link`, shared with what else uses it (a node's forwarding), or a connection of its own */
  constructor(link: NatsLink | NatsLinkOptions) {
    this.link = link instanceof NatsLink ? link : new NatsLink(link);
    // serve() may come before the connection: its subscriptions are made on connecting
    this.link.use({ connected: (nc) => this.subscribeAll(nc) });
  }

  get connected(): boolean {
    return this.link.connected;
  }

  start(): Promise<void> {
    return this.link.start();
  }

  onReconnect(cb: () => void): void {
    this.link.onReconnect(cb);
  }

  close(): Promise<void> {
    return this.link.close();
  }

  async serve(node: string, handler: RequestHandler): Promise<void> {
    if (this.link.closing) throw new Error('nats transport closed');
    if (this.servers.has(node)) throw new Error(`node ${node} is already served by this transport`);
    rpcSubject(node); // validates the name before anything is registered
    this.servers.set(node, handler);
    const nc = this.link.nc;
    if (nc) {
      this.subscribe(nc, node, handler);
      // so that a request sent once serve() resolved finds us (the SUB reached the server)
      if (this.link.connected) await this.link.settleFlush(nc).catch(() => {});
    }
  }

  private subscribeAll(nc: NatsConnection): void {
    for (const [node, handler] of this.servers) this.subscribe(nc, node, handler);
  }

  private subscribe(nc: NatsConnection, node: string, handler: RequestHandler): void {
    nc.subscribe(rpcSubject(node), {
      callback: (err, msg) => {
        if (err) {
          this.link.log?.warn({ err, node }, 'rpc subscription error');
          return;
        }
        this.answerMsg(msg, handler, node).catch((err: unknown) => this.link.log?.error({ err, node }, 'rpc answer failed'));
      },
    });
  }

  private async answerMsg(msg: Msg, handler: RequestHandler, node: string): Promise<void> {
    if (!msg.reply) return; // a publish, not a request: nobody to answer
    const reply = await answer(handler, utf8Dec.decode(msg.data));
    try {
      msg.respond(reply);
    } catch (err) {
      // e.g. closed meanwhile, or the reply exceeds max_payload: the caller times out
      this.link.log?.warn({ err, node }, 'cannot send rpc reply');
      try {
        msg.respond(JSON.stringify({ ok: false, code: CODE.UNKNOWN, message: `cannot send reply: ${errorMessage(err)}` }));
      } catch {
        /* nothing more to do */
      }
    }
  }

  request<M extends RpcMethod>(node: string, method: M, params: RpcParams<M>, timeoutMs: number): Promise<RpcReply<M>> {
    const nc = this.link.nc;
    // Fail fast while disconnected: the client would drop the request on its next dial anyway.
    if (!nc || !this.link.connected) return Promise.reject(rpcFailure(node, this.link.closing ? 'transport closed' : 'not connected to NATS'));
    let subject: string;
    let body: string;
    try {
      subject = rpcSubject(node);
      body = encodeRequest(method, params);
    } catch (err) {
      return Promise.reject(new RpcError(CODE.UNKNOWN, `cannot encode rpc request: ${errorMessage(err)}`, node));
    }
    return new Promise<RpcReply<M>>((resolve, reject) => {
      // Our own deadline as well as the client's: whatever the connection does, we settle in time.
      const timer = setTimeout(() => reject(rpcFailure(node, 'timeout')), timeoutMs);
      let pending: Promise<Msg>;
      try {
        pending = nc.request(subject, body, { timeout: Math.max(1, timeoutMs) });
      } catch (err) {
        pending = Promise.reject(err);
      }
      pending.then(
        (msg) => {
          clearTimeout(timer);
          try {
            resolve(decodeResult(node, msg.string()) as RpcReply<M>);
          } catch (err) {
            reject(err);
          }
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(rpcFailure(node, requestFailureReason(err)));
        },
      );
    });
  }
}
