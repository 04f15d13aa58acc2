import type { Resource } from '../endpoint.js';

/** DELETE /acl-cache, /node/{node}/acl-cache: forget every client's cached ACL results. */
export const aclCache: Resource = [
  {
    method: 'DELETE',
    path: '/acl-cache',
    name: 'clean_acl_cache_all',
    descr: 'Clean acl cache on all nodes',
    handle: async ({ cluster }) => {
      await cluster.all('clients.clearAclCache', {});
      return {};
    },
  },
  {
    method: 'DELETE',
    // `/node/`, singular, as the spec writes it
    path: '/node/:node/acl-cache',
    name: 'clean_acl_cache_node',
    descr: 'Clean acl cache on specified node',
    handle: async ({ cluster, params }) => {
      await cluster.one(params.node!, 'clients.clearAclCache', {});
      return {};
    },
  },
  {
    method: 'DELETE',
    // the plural form every other node-scoped path uses, accepted too
    path: '/nodes/:node/acl-cache',
    name: 'clean_acl_cache_node',
    descr: 'Clean acl cache on specified node',
    handle: async ({ cluster, params }) => {
      await cluster.one(params.node!, 'clients.clearAclCache', {});
      return {};
    },
  },
];
