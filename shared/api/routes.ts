/** The routes resource (GET /api/v4/routes...): which nodes have subscribers for which filters. */
import type { ParamShapes, RpcOf } from './params-schema.js';

export interface RouteRow {
  topic: string;
  node: string;
}

export const ROUTES_PARAMS = {
  /** this node's share of the route table */
  'routes.list': {},
} as const satisfies ParamShapes;

export type RoutesRpc = RpcOf<typeof ROUTES_PARAMS, { 'routes.list': RouteRow[] }>;
