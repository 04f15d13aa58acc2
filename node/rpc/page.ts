import type { Slice } from '../../shared/api/page.js';

/**
 * The page `slice` of the items `keep` accepts, in iteration order; it stops as soon as the
 * page is full, so an iterable that builds items lazily only builds what it must.
 */
export function page<T>(items: Iterable<T>, keep: ((item: T) => boolean) | undefined, slice: Slice): T[] {
  const out: T[] = [];
  const limit = Math.floor(slice.limit);
  if (!(limit > 0)) return out;
  let skip = Math.max(0, Math.floor(slice.offset) || 0);
  for (const item of items) {
    if (keep && !keep(item)) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    out.push(item);
    if (out.length >= limit) break;
  }
  return out;
}

/** How many of the items `keep` accepts. */
export function count<T>(items: Iterable<T>, keep: (item: T) => boolean): number {
  let n = 0;
  for (const item of items) if (keep(item)) n++;
  return n;
}
