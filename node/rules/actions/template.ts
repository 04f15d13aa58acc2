import type { Selected } from '../contracts.js';
import { field, str } from '../sql/values.js';

/**
 * EMQX's `${path}` placeholders (emqx_rule_utils:preproc_tmpl), compiled once per action: a
 * path is looked up in the selected data first, then in the event's columns
 * (`${payload.x}` goes into the JSON payload). An unknown path is empty text.
 */
/** A compiled template: the text for one event's selected data and columns. */
export type Template = (selected: Selected, envs: Selected) => string;

const PLACEHOLDER = /\$\{([^}]+)\}/g;

/** Whether `tmpl` has a `${path}` (a constant one renders the same for every event). */
export function hasPlaceholder(tmpl: string): boolean {
  return new RegExp(PLACEHOLDER.source).test(tmpl);
}

export function template(tmpl: string): Template {
  const parts: (string | string[])[] = [];
  const re = new RegExp(PLACEHOLDER.source, 'g');
  let last = 0;
  for (let m = re.exec(tmpl); m !== null; m = re.exec(tmpl)) {
    if (m.index > last) parts.push(tmpl.slice(last, m.index));
    parts.push(m[1]!.trim().split('.'));
    last = m.index + m[0].length;
  }
  if (last < tmpl.length) parts.push(tmpl.slice(last));
  if (parts.length === 1 && typeof parts[0] === 'string') {
    const s = parts[0];
    return () => s;
  }
  if (parts.length === 1) {
    const path = parts[0] as string[];
    return (selected, envs) => text(lookup(selected, path) ?? lookup(envs, path));
  }
  // the last values and their result: the same values (a publisher's clientid, again and
  // again) give the very same string, whose hash the router and the topic caches keep
  const paths = parts.filter((p): p is string[] => typeof p !== 'string');
  const prev: unknown[] = paths.map(() => undefined);
  let lastOut: string | undefined;
  return (selected, envs) => {
    let same = lastOut !== undefined;
    for (let i = 0; i < paths.length; i++) {
      const v = lookup(selected, paths[i]!) ?? lookup(envs, paths[i]!);
      if (v !== prev[i]) {
        same = false;
        prev[i] = v;
      }
    }
    if (same) return lastOut!;
    let out = '';
    let k = 0;
    for (const p of parts) out += typeof p === 'string' ? p : text(prev[k++]);
    // a value that is an object may change inside: only text and numbers are remembered
    lastOut = prev.every((v) => typeof v !== 'object' || v === null) ? out : undefined;
    return out;
  };
}

function lookup(root: Selected, path: string[]): unknown {
  let v: unknown = root[path[0]!];
  for (let i = 1; i < path.length && v !== undefined; i++) v = field(v, path[i]!);
  return v;
}

const text = (v: unknown): string => (v === undefined || v === null ? '' : str(v));
