/** The ACL cache of connected clients (GET/DELETE /clients/{id}/acl_cache, DELETE /acl-cache...). */
import { optional, type ParamShapes, type RpcOf } from './params-schema.js';

export interface AclCacheRow {
  access: 'publish' | 'subscribe';
  topic: string;
  result: 'allow' | 'deny';
  updated_time: number;
}

export const ACL_CACHE_PARAMS = {
  'clients.aclCache': { clientid: 'string' },
  /** without `clientid`: every client's on the node; with `topic`: only that topic's results (the client's) */
  'clients.clearAclCache': { clientid: optional('string'), topic: optional('string') },
} as const satisfies ParamShapes;

export interface AclCacheReplies {
  /** null when the client is not connected to this node */
  'clients.aclCache': AclCacheRow[] | null;
  'clients.clearAclCache': boolean;
}
export type AclCacheRpc = RpcOf<typeof ACL_CACHE_PARAMS, AclCacheReplies>;
