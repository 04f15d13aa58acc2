import type { Resource } from '../endpoint.js';
import { gather, nodePair } from '../node-pair.js';

const [all, onNode] = nodePair({
  method: 'DELETE',
  path: '/acl-cache',
  name: ['clean_acl_cache_all', 'clean_acl_cache_node'],
  descr: ['Clean acl cache on all nodes', 'Clean acl cache on specified node'],
  handle: async ({ cluster }, node) => {
    await gather(cluster, node, 'clients.clearAclCache', {});
    return {};
  },
});

/** DELETE /acl-cache, /node/{node}/acl-cache: forget every client's cached ACL results. */
export const aclCache: Resource = [
  all,
  // `/node/`, singular, as the spec writes it; the plural form every other node-scoped path uses is accepted too
  { ...onNode, path: '/node/:node/acl-cache' },
  onNode,
];
