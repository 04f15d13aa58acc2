import { topicMatches } from '../../../shared/topic.js';
import type { Expr, Field, Statement } from './ast.js';
import { FUNCTIONS } from './functions.js';
import { filterMatcher } from './topic-match.js';
import { parseSql, SqlError } from './parser.js';
import { compare, equal, field, index, num, str, truthy, type Value } from './values.js';

/**
 * Compiles a rule SQL once into closures: each message or event then runs the closures,
 * never the syntax tree. SELECT runs first, then WHERE, which sees the selected columns
 * under their aliases (as EMQX's) and the event's columns otherwise.
 */

/** What an event offers a rule: its columns (node/rules/events.ts), the payload decoded once. */
export interface Source {
  col(name: string): Value;
  /** the payload decoded as JSON (undefined when it is not JSON), decoded at most once per event */
  payloadJson(): Value;
  /** every column, for `SELECT *` */
  all(): Record<string, Value>;
  /** every column, made once per event: what actions get as their envs (not to be changed) */
  envs(): Record<string, Value>;
}

type Sel = Record<string, Value>;
type Eval = (src: Source, sel: Sel) => Value;

export interface CompiledSql {
  /** the FROM topic filters */
  from: string[];
  /** the selected columns, or undefined when WHERE does not pass; throws when evaluating fails */
  run(src: Source): Sel | undefined;
}

export function compileSql(sql: string): CompiledSql {
  return compileStatement(parseSql(sql));
}

export function compileStatement(stmt: Statement): CompiledSql {
  // the top-level names an expression column defines: WHERE reads those from the selection
  const aliases = new Set<string>();
  // (a column selected under its own name, `SELECT qos`, reads the same from either)
  for (const f of stmt.fields) if (f.kind === 'expr' && !(f.expr.kind === 'col' && f.as.length === 1 && f.as[0] === f.expr.name)) aliases.add(f.as[0]!);
  const select = selection(stmt.fields);
  const where = stmt.where === undefined ? undefined : compileExpr(stmt.where, aliases);
  // a WHERE that reads no alias runs first: an event it refuses costs no selection
  if (where !== undefined && !readsAlias(stmt.where!, aliases)) {
    return {
      from: stmt.from,
      run(src) {
        if (!truthy(where(src, NO_SELECTION))) return undefined;
        return select(src);
      },
    };
  }
  return {
    from: stmt.from,
    run(src) {
      const sel = select(src);
      if (where !== undefined && !truthy(where(src, sel))) return undefined;
      return sel;
    },
  };
}

/**
 * The SELECT list as one function from the event to the selected columns. The usual list
 * (expressions each under one distinct name) builds an object literal with fixed keys, made
 * once per rule with `new Function` (keys are JSON string literals, values the compiled
 * closures): one allocation of one stable shape per event instead of keyed stores.
 */
function selection(fields: Field[]): (src: Source) => Sel {
  const names = fields.map((f) => (f.kind === 'expr' && f.as.length === 1 ? f.as[0]! : undefined));
  const simple = names.every((n) => n !== undefined && n !== '__proto__') && new Set(names).size === names.length;
  if (simple) {
    const fns = fields.map((f) => compileExpr((f as Extract<Field, { kind: 'expr' }>).expr, undefined));
    const body = names.map((n, i) => `${JSON.stringify(n)}: f[${i}](src, s)`).join(', ');
    const make = new Function('f', 's', `return (src) => ({ ${body} });`) as (f: Eval[], s: Sel) => (src: Source) => Sel;
    return make(fns, NO_SELECTION);
  }
  const each = fields.map((f) => compileField(f));
  return (src) => {
    const sel: Sel = {};
    for (let i = 0; i < each.length; i++) each[i]!(src, sel);
    return sel;
  };
}

const NO_SELECTION: Sel = Object.freeze({}) as Sel;

/** Whether an expression reads a column of the selection (an alias) rather than of the event. */
function readsAlias(e: Expr, aliases: Set<string>): boolean {
  switch (e.kind) {
    case 'col':
      return aliases.has(e.name);
    case 'get':
    case 'neg':
    case 'not':
      return readsAlias(e.of, aliases);
    case 'index':
      return readsAlias(e.of, aliases) || readsAlias(e.index, aliases);
    case 'call':
      return e.args.some((x) => readsAlias(x, aliases));
    case 'bin':
      return readsAlias(e.left, aliases) || readsAlias(e.right, aliases);
    default:
      return false;
  }
}

function compileField(f: Field): (src: Source, sel: Sel) => void {
  if (f.kind === 'all') return (src, sel) => void Object.assign(sel, src.all());
  const e = compileExpr(f.expr, undefined);
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

/** `aliases`: in WHERE, the names read from the selection (undefined in SELECT: all from the event). */
function compileExpr(e: Expr, aliases: Set<string> | undefined): Eval {
  const sub = (x: Expr): Eval => compileExpr(x, aliases);
  switch (e.kind) {
    case 'num':
    case 'str':
    case 'bool': {
      const v = e.value;
      return () => v;
    }
    case 'null':
      return () => undefined;
    case 'col': {
      const name = e.name;
      if (aliases?.has(name)) return (_src, sel) => sel[name];
      return (src) => src.col(name);
    }
    case 'get': {
      const key = e.key;
      // payload.x reads the payload decoded once per event, not once per reference
      if (e.of.kind === 'col' && e.of.name === 'payload' && !aliases?.has('payload')) return (src) => field(src.payloadJson(), key);
      const of = sub(e.of);
      return (src, sel) => field(of(src, sel), key);
    }
    case 'index': {
      const of = sub(e.of);
      const i = sub(e.index);
      return (src, sel) => index(of(src, sel), i(src, sel));
    }
    case 'neg': {
      const of = sub(e.of);
      return (src, sel) => -num(of(src, sel));
    }
    case 'not': {
      const of = sub(e.of);
      return (src, sel) => !truthy(of(src, sel));
    }
    case 'call': {
      const def = FUNCTIONS[e.name];
      if (def === undefined) throw new SqlError(`unknown function ${e.name}`, e.line, e.column);
      if (e.args.length < def.min || e.args.length > def.max) {
        const want = def.min === def.max ? `${def.min}` : def.max === Infinity ? `at least ${def.min}` : `${def.min} to ${def.max}`;
        throw new SqlError(`${e.name} takes ${want} argument(s), not ${e.args.length}`, e.line, e.column);
      }
      const args = e.args.map(sub);
      const fn = def.fn;
      if (args.length === 0) return () => fn();
      if (args.length === 1) {
        const a = args[0]!;
        return (src, sel) => fn(a(src, sel));
      }
      return (src, sel) => fn(...args.map((a) => a(src, sel)));
    }
    case 'bin':
      if (e.op === '=~' && e.right.kind === 'str') {
        const match = filterMatcher(e.right.value);
        const l = sub(e.left);
        return (src, sel) => match(str(l(src, sel)));
      }
      return binary(e.op, sub(e.left), sub(e.right));
  }
}

function binary(op: Extract<Expr, { kind: 'bin' }>['op'], l: Eval, r: Eval): Eval {
  switch (op) {
    case 'and':
      return (s, c) => truthy(l(s, c)) && truthy(r(s, c));
    case 'or':
      return (s, c) => truthy(l(s, c)) || truthy(r(s, c));
    case '=':
      return (s, c) => equal(l(s, c), r(s, c));
    case '!=':
      return (s, c) => !equal(l(s, c), r(s, c));
    case '>':
      return (s, c) => compare(l(s, c), r(s, c)) > 0;
    case '<':
      return (s, c) => compare(l(s, c), r(s, c)) < 0;
    case '>=':
      return (s, c) => compare(l(s, c), r(s, c)) >= 0;
    case '<=':
      return (s, c) => compare(l(s, c), r(s, c)) <= 0;
    case '=~':
      return (s, c) => topicMatches(str(r(s, c)), str(l(s, c)));
    case '+':
      return (s, c) => {
        const a = l(s, c);
        const b = r(s, c);
        // numbers add, anything else concatenates (EMQX's '+')
        return typeof a === 'number' && typeof b === 'number' ? a + b : str(a) + str(b);
      };
    case '-':
      return (s, c) => num(l(s, c)) - num(r(s, c));
    case '*':
      return (s, c) => num(l(s, c)) * num(r(s, c));
    case '/':
      return (s, c) => num(l(s, c)) / num(r(s, c));
    case 'div':
      return (s, c) => Math.trunc(num(l(s, c)) / num(r(s, c)));
    case 'mod':
      return (s, c) => num(l(s, c)) % num(r(s, c));
  }
}
