import { CODE } from '../../../shared/result-codes.js';
import type { Resource } from '../endpoint.js';
import { ApiError } from '../errors.js';

/**
 * DELETE /connections/{clientid}/acl/{topic}: EMQX 3's clean_acl_cache, which makes a
 * connected client forget its cached ACL results for one topic (publish and subscribe), so
 * its next PUBLISH or SUBSCRIBE there is checked against the rules again. Every node is
 * asked; 112 when none holds the client.
 */
export const v3AclCache: Resource = [
  {
    method: 'DELETE',
    path: '/connections/:clientid/acl/:topic',
    name: 'clean_acl_cache',
    descr: 'Clean ACL cache of a connection',
    handle: async ({ cluster, params }) => {
      const clientid = params.clientid!;
      const done = await cluster.all('clients.clearAclCache', { clientid, topic: params.topic! });
      if (!done.some((r) => r.data)) throw new ApiError(200, CODE.CLIENT_NOT_ONLINE, `client ${clientid} not online`);
      return {};
    },
  },
];
