import type { Request } from 'express';
import type { ClusterStore } from '../../shared/cluster/store.js';
import type { ClusterClient } from '../cluster-client.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What a handler gets: the request's parts, decoded, and the cluster. */
export interface ApiContext {
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  cluster: ClusterClient;
  store: ClusterStore;
  req: Request;
}

/** A successful answer: `data` (and `meta` for paged lists), sent as `{"code":0,...}`. */
export interface ApiReply {
  data?: unknown;
  meta?: Record<string, unknown>;
}

/**
 * One endpoint of one API resource, as EMQX's management modules declare theirs: method,
 * path (below /api/v4, Express syntax), name and description. The table of a resource
 * drives routing, the `GET /api/v4` listing and the gateway's request metrics.
 */
export interface Endpoint {
  method: HttpMethod;
  path: string;
  name: string;
  descr: string;
  handle(ctx: ApiContext): Promise<ApiReply>;
}

/** A resource's table. */
export type Resource = readonly Endpoint[];
