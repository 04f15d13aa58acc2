import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import { brokerInfo } from '../inspect.js';

/** GET /api/v4/brokers */
export function brokersHandlers(b: Broker): Pick<RpcHandlers, 'brokers.get'> {
  return { 'brokers.get': () => brokerInfo(b) };
}
