/** The routes resource (GET /api/v4/routes...): which nodes have subscribers for which filters. */
import { optional, type ParamShapes, type RpcOf } from './params-schema.js';

export interface RouteRow {
  topic: string;
  node: string;
}

export const ROUTES_PARAMS = {
  /** how many rows this node's share of the route table has */
  'routes.count': {},
  /** this node's share of the route table, sorted by topic; a slice of it with offset and limit */
  'routes.list': { offset: optional('int'), limit: optional('int') },
  /** this node's row for one topic filter (matched exactly), if it routes it */
  'routes.lookup': { topic: 'string' },
} as const satisfies ParamShapes;

export type RoutesRpc = RpcOf<typeof ROUTES_PARAMS, { 'routes.count': number; 'routes.list': RouteRow[]; 'routes.lookup': RouteRow[] }>;
