/**
 * Human-readable output: aligned tables (kubectl-style: a header row, columns two spaces
 * apart, no rules) and field lists. Every cell is one line: control characters in values
 * (a reason with a newline, a clientid with a tab) are shown escaped, so columns stay
 * aligned and nothing a client chose can move the terminal's cursor.
 */
import { formatDatetime } from '../shared/time-format.js';

export type Align = 'left' | 'right';

export interface Column<R> {
  header: string;
  value(row: R): unknown;
  /** default: right when every non-empty cell of the column is a number, else left */
  align?: Align;
}

/** Shown in place of rows when there are none. */
export const NO_ROWS = '(none)';

const GAP = '  ';

/** One cell's text: empty for null/undefined, JSON for objects, control characters escaped. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** Display width in code points (a clientid may hold any UTF-8; surrogate pairs count once). */
export function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function pad(s: string, w: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return align === 'right' ? fill + s : s + fill;
}

/** Rows as an aligned table under a header; NO_ROWS under the header when there are none. */
export function table<R>(rows: readonly R[], columns: readonly Column<R>[]): string {
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const aligns = columns.map((c, i): Align => {
    if (c.align) return c.align;
    const filled = cells.map((row) => row[i]).filter((v) => v !== null && v !== undefined && v !== '');
    return filled.length > 0 && filled.every((v) => typeof v === 'number') ? 'right' : 'left';
  });
  const text = cells.map((row) => row.map(cellText));
  const headers = columns.map((c) => c.header);
  const widths = headers.map((h, i) => Math.max(width(h), ...text.map((row) => width(row[i]!))));
  const line = (row: string[]): string => row.map((s, i) => pad(s, widths[i]!, aligns[i]!)).join(GAP).trimEnd();
  const out = [line(headers), ...text.map(line)];
  if (rows.length === 0) out.push(NO_ROWS);
  return out.join('\n');
}

/** An object's fields, one per line: the names in an aligned column, then the values. */
export function fields(obj: Record<string, unknown>): string {
  const names = Object.keys(obj);
  const w = Math.max(0, ...names.map(width));
  return names.map((k) => `${pad(k, w, 'left')}${GAP}${cellText(obj[k])}`.trimEnd()).join('\n');
}

/** Epoch seconds (banned `at`, `until`) as the API's local "YYYY-MM-DD HH:MM:SS". */
export function epochSeconds(v: unknown): unknown {
  return typeof v === 'number' ? formatDatetime(v * 1000) : v;
}

/** Microseconds since the epoch (alarm times) the same way; anything else ("infinity") as it is. */
export function epochMicros(v: unknown): unknown {
  return typeof v === 'number' ? formatDatetime(Math.floor(v / 1000)) : v;
}

/** A count-by-reason (a listener's shutdown_count): an object, or an array of one-key objects or [reason, n] pairs, as "reason=n ...". */
export function counts(v: unknown): string {
  const entries: [string, unknown][] = [];
  const add = (o: unknown): void => {
    if (Array.isArray(o) && o.length === 2) entries.push([String(o[0]), o[1]]);
    else if (typeof o === 'object' && o !== null) entries.push(...Object.entries(o));
  };
  if (Array.isArray(v)) v.forEach(add);
  else add(v);
  return entries.map(([k, n]) => `${k}=${cellText(n)}`).join(' ');
}
