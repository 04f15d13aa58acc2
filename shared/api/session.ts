/** Session takeover, node to node: a client with this clientid connected elsewhere. */
import type { ParamShapes, RpcOf } from './params-schema.js';

/** A session moving between nodes on takeover: what must survive the move. */
export interface SessionTransfer {
  clientid: string;
  createdAt: number;
  expiryInterval: number;
  subscriptions: { topic: string; qos: number; nl: boolean; rap: boolean; rh: number; subId?: number }[];
  /** queued and unacknowledged messages, oldest first, in the wire encoding (base64) */
  messages: { msg: string; qos: number; retain: boolean; subId?: number; subIds?: number[] }[];
}

export const SESSION_PARAMS = {
  /** The session is ended here; with `transfer` its state comes back to move to the new node. */
  'session.takeover': { clientid: 'string', transfer: 'bool', toNode: 'string' },
} as const satisfies ParamShapes;

export type SessionRpc = RpcOf<typeof SESSION_PARAMS, { 'session.takeover': SessionTransfer | null }>;
