/** The brokers resource (GET /api/v4/brokers...): basic information of each node. */
import type { ParamShapes, RpcOf } from './params-schema.js';

export interface BrokerRow {
  version: string;
  uptime: string;
  sysdescr: string;
  otp_release: string;
  node_status: string;
  node: string;
  datetime: string;
}

export const BROKERS_PARAMS = { 'brokers.get': {} } as const satisfies ParamShapes;

export type BrokersRpc = RpcOf<typeof BROKERS_PARAMS, { 'brokers.get': BrokerRow }>;
