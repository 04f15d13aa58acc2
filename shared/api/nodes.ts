/** The nodes resource (GET /api/v4/nodes...): the state of each node. */
import { optional, type ParamShapes, type RpcOf } from './params-schema.js';

export interface NodeRow {
  version: string;
  uptime: string;
  process_used: number;
  process_available: number;
  otp_release: string;
  node_status: string;
  node: string;
  /** as EMQX formats them: "96.75M" */
  memory_used: string;
  memory_total: string;
  max_fds: number;
  load1: string;
  load5: string;
  load15: string;
  connections: number;
  /**
   * only when asked (`v3: true`): the same two readings in bytes, as EMQX 3.x's
   * GET /api/v3/nodes/{node} shows them (its cluster list formats them as above)
   */
  v3?: { memory_used: number; memory_total: number };
}

export const NODES_PARAMS = { 'nodes.get': { v3: optional('bool') } } as const satisfies ParamShapes;

export type NodesRpc = RpcOf<typeof NODES_PARAMS, { 'nodes.get': NodeRow }>;
