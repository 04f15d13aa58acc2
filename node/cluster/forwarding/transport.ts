/**
 * What a node's transport does beyond RPC: forwarding messages to one node
 * (docs/forwarding.md). Two implementations: NATS (nats-transport.ts) and in-process
 * (in-process.ts), both an RpcTransport too.
 */
import type { RpcTransport } from '../../../shared/cluster/rpc-transport.js';
import type { Message } from '../../../shared/message.js';

/** What a node receives from another node: a message, and who among its subscribers gets it. */
export interface ForwardTarget {
  /**
   * 'route': every local (non-shared) subscriber matching the topic; 'shared': one member of
   * one group; 'session': the session `clientid` only (a message that reached the node a
   * session just left, sent on to the session's new node: see node/cluster/moved-sessions.ts)
   */
  kind: 'route' | 'shared' | 'session';
  filter?: string;
  group?: string;
  clientid?: string;
}

/**
 * What forward() sends: a Message, which the transport encodes (message-codec.ts) straight
 * into what it sends, or bytes already encoded, which it copies. The receiver gets the bytes.
 */
export type ForwardPayload = Message | Uint8Array;

/**
 * Receives what was forwarded to a node; `encoded` is a view (see Forwarder.onForward). A
 * promise returned says the frame is not taken until it resolves (durable sessions storing
 * their copies): its acknowledgement to the sender waits for it.
 */
export type ForwardHandler = (target: ForwardTarget, encoded: Uint8Array) => void | Promise<void>;

/**
 * A reliable forward its node never confirmed before NATS found nobody listening for it (a
 * node that died, or one changing NATS servers): parked, its flushes waiting, until its
 * taker settles it.
 */
export interface UnreachableForward {
  /** the node it was meant for */
  readonly node: string;
  readonly target: ForwardTarget;
  /** the encoded message (message-codec.ts), the taker's own copy */
  readonly encoded: Uint8Array;
  /** unique to this frame in the cluster: a store write made of it is made once however often retried */
  readonly id: string;
}

/**
 * Takes a parked forward: 'stored' once what it owes is stored where its node's persistent
 * sessions find it (or nobody needs it: its node is dead, and clean sessions die with it),
 * 'again' to send it to its node again (a live node changing NATS servers).
 */
export type UnreachableTaker = (f: UnreachableForward) => Promise<'stored' | 'again'>;

/** Message forwarding to one node. */
export interface Forwarder {
  /**
   * receives messages forwarded to `node`; `encoded` may be a view into a larger buffer of the
   * transport's, never reused and never shared with another listener: copy what is kept long
   */
  onForward(node: string, handler: ForwardHandler): Promise<void>;
  /**
   * sends a message to `node`; fire and forget. `reliable` (QoS 1/2 messages): the transport
   * keeps it until it is known to have gone through, across reconnects, and delivers it at
   * most once; otherwise it may be dropped (e.g. while disconnected, or while the connection
   * is backlogged), and then forward() returns false. The caller may reuse what it passed
   * once forward() returned.
   */
  forward(node: string, target: ForwardTarget, payload: ForwardPayload, reliable?: boolean): boolean;
  /**
   * resolves when every reliable forward made so far to `node` (without it: to any node) has
   * gone through (NATS: the node it went to acknowledged it, or it was handed to the taker of
   * onUnreachable() and settled there, or nobody listens for that node any more) and the
   * others were sent; may wait for a lost connection to come back. Rejects after the
   * transport's own timeout when that doesn't happen in time, keeping the messages: a later
   * flush() can still resolve.
   */
  flush(node?: string): Promise<void>;
  /**
   * Whether forwards are made faster than the transport gets them out (NATS: the server is
   * megabytes behind what was published). The broker then stops reading from the clients
   * whose messages it forwards until onDrained() calls back: pausing the publishers is
   * cheaper than reading what would be dropped.
   */
  readonly backlogged: boolean;
  /** calls `cb` once, when the backlog is worked off or the connection it was on is gone */
  onDrained(cb: () => void): void;
  /**
   * The taker of reliable forwards whose node NATS finds nobody listening for (without one
   * they are given up on, and their flushes resolve). In process, nodes never die under
   * their forwards: it is never called.
   */
  onUnreachable(taker: UnreachableTaker): void;
}

/** How nodes talk to each other: RPC addressed to one node, and message forwarding to one node. */
export interface Transport extends RpcTransport, Forwarder {}
