/** The ACL caches of the clients connected to this node (GET/DELETE .../acl_cache, DELETE /acl-cache). */
import type { ACL_CACHE_PARAMS } from '../../shared/api/acl-cache.js';
import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';

export function aclCacheHandlers(b: Broker): Pick<RpcHandlers, keyof typeof ACL_CACHE_PARAMS> {
  return {
    // null when the client is not connected here
    'clients.aclCache': ({ clientid }) => {
      const conn = b.sessions.get(clientid)?.conn;
      return conn ? (conn.aclCache?.entries() ?? []) : null;
    },
    // one client's, or every client's on this node
    'clients.clearAclCache': ({ clientid, topic }) => {
      if (clientid === undefined) {
        for (const c of b.connections) c.aclCache?.clear();
        return true;
      }
      const conn = b.sessions.get(clientid)?.conn;
      if (!conn) return false;
      if (topic === undefined) conn.aclCache?.clear();
      else conn.aclCache?.forget(topic);
      return true;
    },
  };
}
