/**
 * `${field}` templates of the rule engine's actions (EMQX's emqx_rule_utils:preproc_tmpl /
 * proc_tmpl): parsed once when the action is made, rendered per event. `${payload.x.y}`
 * reads into nested objects (a JSON payload string is decoded for it); a string renders
 * as itself, anything else as JSON, a missing field as "undefined" (as EMQX renders it).
 */

type Part = string | readonly string[];

export interface Template {
  readonly parts: readonly Part[];
  /** true if the template has no placeholder */
  readonly constant: boolean;
}

export function parseTemplate(src: string): Template {
  const parts: Part[] = [];
  const re = /\$\{([^}]*)\}/g;
  let last = 0;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    if (m.index > last) parts.push(src.slice(last, m.index));
    parts.push(m[1]!.trim().split('.'));
    last = m.index + m[0].length;
  }
  if (last < src.length) parts.push(src.slice(last));
  return { parts, constant: parts.every((p) => typeof p === 'string') };
}

/** The value at `path` in `data`, descending into JSON strings where a path goes on. */
export function lookup(data: Record<string, unknown>, path: readonly string[]): unknown {
  let v: unknown = data;
  for (const key of path) {
    if (typeof v === 'string') {
      try {
        v = JSON.parse(v);
      } catch {
        return undefined;
      }
    }
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

export function renderValue(v: unknown): string {
  if (v === undefined || v === null) return 'undefined';
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return JSON.stringify(v);
}

export function render(t: Template, data: Record<string, unknown>): string {
  let out = '';
  for (const p of t.parts) out += typeof p === 'string' ? p : renderValue(lookup(data, p));
  return out;
}
