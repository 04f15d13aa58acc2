import type { Expr, Field } from './ast.js';
import type { Source } from './compile.js';
import type { Value } from './values.js';

/**
 * A SELECT list as functions from an event to its selected columns: `plain` makes a plain
 * object (the API's test run shows it), `lazy` a record whose columns that only copy an
 * event column (`SELECT payload, clientid`) read it when an action does: a payload no
 * action renders is never decoded. Both give the same values; every other expression is
 * computed at once, so one that throws still fails the rule before its actions.
 */
export interface Selection {
  plain(src: Source): Sel;
  lazy(src: Source): Sel;
  /** when every selected column copies an event column (nothing computed): selected name → column */
  copies: ReadonlyMap<string, string> | undefined;
}

export type Sel = Record<string, Value>;
export type Eval = (src: Source, sel: Sel) => Value;

export const NO_SELECTION: Sel = Object.freeze({}) as Sel;

const SRC = Symbol('event');

/** Names a lazy record class cannot use as its columns (they are its own members, or Object's). */
const RESERVED = new Set(['__proto__', 'constructor', 'toJSON']);

export function selection(fields: Field[], compile: (e: Expr) => Eval): Selection {
  const names = fields.map((f) => (f.kind === 'expr' && f.as.length === 1 ? f.as[0]! : undefined));
  const simple = names.every((n) => n !== undefined && !RESERVED.has(n)) && new Set(names).size === names.length;
  if (!simple) {
    const each = fields.map((f) => compileField(f, compile));
    const plain = (src: Source): Sel => {
      const sel: Sel = {};
      for (let i = 0; i < each.length; i++) each[i]!(src, sel);
      return sel;
    };
    return { plain, lazy: plain, copies: undefined };
  }
  const exprs = fields.map((f) => (f as Extract<Field, { kind: 'expr' }>).expr);
  const fns = exprs.map((e) => compile(e));
  const keys = names.map((n) => JSON.stringify(n));
  // the usual list (expressions each under one distinct name) is an object literal with
  // fixed keys, made once per rule with `new Function` (keys are JSON string literals,
  // values the compiled closures): one allocation of one stable shape per event
  const body = keys.map((k, i) => `${k}: f[${i}](src, s)`).join(', ');
  const plain = (new Function('f', 's', `return (src) => ({ ${body} });`) as (f: Eval[], s: Sel) => (src: Source) => Sel)(fns, NO_SELECTION);
  const copies = exprs.map((e) => (e.kind === 'col' ? e.name : undefined));
  if (copies.every((c) => c === undefined)) return { plain, lazy: plain, copies: undefined };
  // a class per rule: the copies are getters on its prototype (reading the event's column),
  // the rest own fields set by the constructor; JSON sees every column, in the SELECT's order
  // (the event under a symbol: no key, JSON or spread sees it; cheaper to set than a #field)
  const members = keys.map((k, i) => (copies[i] === undefined ? '' : `get [${k}]() { return this[SRC].col(${JSON.stringify(copies[i])}); }`)).join('\n');
  const init = keys.map((k, i) => (copies[i] === undefined ? `this[${k}] = f[${i}](src, s);` : '')).join(' ');
  const json = keys.map((k) => `${k}: this[${k}]`).join(', ');
  const code = `class Selected { constructor(src) { this[SRC] = src; ${init} } ${members} toJSON() { return { ${json} }; } }; return (src) => new Selected(src);`;
  const make = () => (new Function('f', 's', 'SRC', code) as (f: Eval[], s: Sel, key: symbol) => (src: Source) => Sel)(fns, NO_SELECTION, SRC);
  // A list of copies alone needs nothing of its rule: rules selecting the same columns
  // share one class, so the actions' reads of their selections see one shape. Otherwise
  // the `new` too is in the generated code: one class per call site, monomorphic.
  if (init.trim() !== '') return { plain, lazy: make(), copies: undefined };
  let lazy = SHARED.get(code);
  if (lazy === undefined) {
    // rules come and go: a list no rule selects any more is not kept for ever
    if (SHARED.size >= MAX_SHARED) SHARED.clear();
    SHARED.set(code, (lazy = make()));
  }
  return { plain, lazy, copies: new Map(names.map((n, i) => [n!, copies[i]!])) };
}

const SHARED = new Map<string, (src: Source) => Sel>();
const MAX_SHARED = 1000;

function compileField(f: Field, compile: (e: Expr) => Eval): (src: Source, sel: Sel) => void {
  if (f.kind === 'all') return (src, sel) => void Object.assign(sel, src.all());
  const e = compile(f.expr);
  const path = f.as;
  if (path.length === 1) {
    const name = path[0]!;
    return (src, sel) => void (sel[name] = e(src, sel));
  }
  return (src, sel) => {
    let at = sel;
    for (let i = 0; i < path.length - 1; i++) {
      const k = path[i]!;
      const next = at[k];
      at = typeof next === 'object' && next !== null ? (next as Sel) : (at[k] = {});
    }
    at[path[path.length - 1]!] = e(src, sel);
  };
}
