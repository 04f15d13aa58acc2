/** The listeners resource (GET /api/v4/listeners): each node's MQTT listeners. */
import type { ParamShapes, RpcOf } from './params-schema.js';

/** One listener of GET /api/v4/listeners. */
export interface ListenerRow {
  protocol: string;
  listen_on: string;
  acceptors: number;
  max_conns: number;
  current_conns: number;
  /** EMQX's shape: an object of reason → count, or [] when nothing has been counted */
  shutdown_count: Record<string, number> | [];
}

export const LISTENERS_PARAMS = { 'listeners.list': {} } as const satisfies ParamShapes;

export type ListenersRpc = RpcOf<typeof LISTENERS_PARAMS, { 'listeners.list': ListenerRow[] }>;
