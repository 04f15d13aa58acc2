import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import { nodeInfo } from '../inspect.js';

/** GET /api/v4/nodes */
export function nodesHandlers(b: Broker): Pick<RpcHandlers, 'nodes.get'> {
  return { 'nodes.get': () => nodeInfo(b) };
}
