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

/** A template's text parts and `${path}` paths, in order. */
function parse(tmpl: string): (string | string[])[] {
  const parts: (string | string[])[] = [];
  const re = new RegExp(PLACEHOLDER.source, 'g');
  let last = 0;
  for (let m = re.exec(tmpl); m !== null; m = re.exec(tmpl)) {
    if (m.index > last) parts.push(tmpl.slice(last, m.index));
    parts.push(m[1]!.trim().split('.'));
    last = m.index + m[0].length;
  }
  if (last < tmpl.length) parts.push(tmpl.slice(last));
  return parts;
}

/** The paths a template reads (`${clientid}/${payload.x}`: [['clientid'], ['payload', 'x']]). */
export function templatePaths(tmpl: string): string[][] {
  return parse(tmpl).filter((p): p is string[] => typeof p !== 'string');
}

export function template(tmpl: string): Template {
  const parts = parse(tmpl);
  // a constant text ('' included) renders the same for every event
  if (parts.every((p) => typeof p === 'string')) {
    const s = parts.join('');
    return () => s;
  }
  return generated(parts);
}

/**
 * The template as one function generated from its paths (JSON string literals in the code)
 * with its text parts as data: each reads its fields under constant names, where one shared
 * walker over path arrays would see every rule's selection shape. Templates with the same
 * paths in the same places (`a/${clientid}`, `b/${clientid}`) share one generated factory,
 * so their lookups share what V8 learns of the selections they read. A path is looked up in
 * the selected data, then (when that finds nothing) in the event's columns; `${a.b}` goes
 * into a map or a JSON payload (field()).
 */
function generated(parts: (string | string[])[]): Template {
  const paths = parts.filter((p): p is string[] => typeof p !== 'string');
  const texts = parts.filter((p): p is string => typeof p === 'string');
  const walk = (root: string, path: string[], v: string) => [`${v} = ${root}[${JSON.stringify(path[0])}];`, ...path.slice(1).map((k) => `if (${v} !== undefined) ${v} = field(${v}, ${JSON.stringify(k)});`)].join(' ');
  const read = paths.map((p, i) => `let a${i}; ${walk('selected', p, `a${i}`)} if (a${i} === undefined || a${i} === null) { ${walk('envs', p, `a${i}`)} }`).join('\n');
  let code: string;
  if (parts.length === 1) code = `return (selected, envs) => { ${read} return text(a0); };`;
  else {
    // the last values and their result: the same values (a publisher's clientid, again and
    // again) give the very same string, whose hash the router and the topic caches keep
    const same = paths.map((_, i) => `a${i} === p${i}`).join(' && ');
    const keep = paths.map((_, i) => `p${i} = a${i};`).join(' ');
    let k = 0;
    let t = 0;
    const concat = parts.map((p) => (typeof p === 'string' ? `T[${t++}]` : `text(a${k++})`)).join(' + ');
    // a value that is an object may change inside: only text and numbers are remembered
    const plain = paths.map((_, i) => `(typeof a${i} !== 'object' || a${i} === null)`).join(' && ');
    code = `let ${paths.map((_, i) => `p${i}`).join(', ')}, last;
      return (selected, envs) => {
        ${read}
        if (last !== undefined && ${same}) return last;
        ${keep}
        const out = ${concat};
        last = ${plain} ? out : undefined;
        return out;
      };`;
  }
  let factory = FACTORIES.get(code);
  if (factory === undefined) {
    // rules come and go: a shape no action uses any more is not kept for ever
    if (FACTORIES.size >= MAX_FACTORIES) FACTORIES.clear();
    FACTORIES.set(code, (factory = new Function('field', 'text', 'T', code) as Factory));
  }
  return factory(field, text, texts);
}

type Factory = (f: typeof field, t: typeof text, texts: string[]) => Template;
const FACTORIES = new Map<string, Factory>();
const MAX_FACTORIES = 1000;

const text = (v: unknown): string => (v === undefined || v === null ? '' : str(v));
