/** Session takeover, node to node: a client with this clientid connected elsewhere. */
import { optional, type ParamShapes, type RpcOf } from './params-schema.js';

/** A session moving between nodes on takeover: what must survive the move. */
export interface SessionTransfer {
  clientid: string;
  createdAt: number;
  expiryInterval: number;
  subscriptions: { topic: string; qos: number; nl: boolean; rap: boolean; rh: number; subId?: number }[];
  /**
   * unacknowledged then queued messages, oldest first, in the wire encoding (base64). An
   * unacknowledged one keeps its packet identifier (`id`) and, for QoS 2 past PUBREC,
   * `released`: the new node resends it under the same id (or PUBREL), as a resume must
   * [MQTT-4.4.0-1]; a node that ignores `id` queues it afresh (the older behaviour).
   */
  messages: { msg: string; qos: number; retain: boolean; subId?: number; subIds?: number[]; id?: number; released?: boolean }[];
  /** incoming QoS 2 packet identifiers awaiting PUBREL: a resent PUBLISH under one is not delivered again [MQTT-4.3.3-9] */
  awaitingRel?: number[];
  /**
   * a session that moved here a moment ago and moves on: what its node saw of each message
   * (node/session/move-dedup.ts), so that a copy still on its way from a node it left is
   * not taken a second time
   */
  recent?: string[];
}

export const SESSION_PARAMS = {
  /** The session is ended here; with `transfer` its state comes back to move to the new node. */
  'session.takeover': { clientid: 'string', transfer: 'bool', toNode: 'string' },
  /**
   * The clientid is live on `node` too (both connected while Redis or NATS was away): the
   * newer connection stays, as a takeover would have decided. `connectedAt` is the caller's
   * (epoch ms); the answer says whether the asked node kept its own (the caller then gives
   * its up) or gave it up (the caller keeps its own). `takes` (caller's, and in the answer the
   * asked node's): that session opened while no takeover was possible and takes what the one
   * given up still owed its client; one that took a session over or resumed it from the store
   * may have had those messages already.
   */
  'session.conflict': { clientid: 'string', node: 'string', connectedAt: 'int', takes: optional('bool') },
} as const satisfies ParamShapes;

export type SessionRpc = RpcOf<typeof SESSION_PARAMS, { 'session.takeover': SessionTransfer | null; 'session.conflict': { kept: boolean; takes?: boolean } }>;
