import { badParam, missing } from './errors.js';

/** The `max_row_limit` of EMQX's management plugin: the default and the cap of `_limit`. */
export const MAX_ROW_LIMIT = 10000;

/** `_page` (from 1) and `_limit` (default and cap MAX_ROW_LIMIT) of a paged list. */
export function paging(q: Record<string, string>): { page: number; limit: number } {
  const page = q._page === undefined ? 1 : integer('_page', q._page, 1);
  const limit = q._limit === undefined ? MAX_ROW_LIMIT : Math.min(integer('_limit', q._limit, 1), MAX_ROW_LIMIT);
  return { page, limit };
}

export function integer(name: string, v: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(v)) throw badParam(name, `"${v}" is not an integer`);
  const n = Number(v);
  if (n < min || n > max) throw badParam(name, `${n} is out of range`);
  return n;
}

export function bool(name: string, v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw badParam(name, `"${v}" is not true or false`);
}

export function required(name: string, v: string | undefined): string {
  if (v === undefined || v === '') throw missing(name);
  return v;
}

/** The paging `meta`: `count` is the total, or -1 when a filter was given (EMQX 4.1+); `hasnext` always. */
export function meta(page: number, limit: number, total: number, filtered: boolean): Record<string, unknown> {
  return { page, limit, count: filtered ? -1 : total, hasnext: page * limit < total };
}
