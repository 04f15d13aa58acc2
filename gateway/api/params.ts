import { parseInteger } from '../../shared/api/query-schema.js';

/** The `max_row_limit` of EMQX's management plugin: the default and the cap of `_limit`. */
export const MAX_ROW_LIMIT = 10000;

/** `_page` (from 1) and `_limit` (default and cap MAX_ROW_LIMIT) of a paged list. */
export function paging(q: Record<string, string>): { page: number; limit: number } {
  const page = q._page === undefined ? 1 : parseInteger('_page', q._page, 1);
  const limit = q._limit === undefined ? MAX_ROW_LIMIT : Math.min(parseInteger('_limit', q._limit, 1), MAX_ROW_LIMIT);
  return { page, limit };
}

/** The paging `meta`: `count` is the total, or -1 when a filter was given (EMQX 4.1+); `hasnext` always. */
export function meta(page: number, limit: number, total: number, filtered: boolean): Record<string, unknown> {
  return { page, limit, count: filtered ? -1 : total, hasnext: page * limit < total };
}

/** One page of rows held whole (routes, banned): the slice and its `meta`. */
export function pageOf<T>(rows: T[], page: number, limit: number): { data: T[]; meta: Record<string, unknown> } {
  const from = (page - 1) * limit;
  return { data: rows.slice(from, from + limit), meta: meta(page, limit, rows.length, false) };
}
