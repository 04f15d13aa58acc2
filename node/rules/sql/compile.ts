import { topicMatches } from '../../../shared/topic.js';
import type { Expr, Statement } from './ast.js';
import { FUNCTIONS } from './functions.js';
import { filterMatcher } from './topic-match.js';
import { parseSql, SqlError } from './parser.js';
import { readsAlias, readsOnly } from './reads.js';
import { NO_SELECTION, selection, type Eval, type Sel } from './selection.js';
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

export interface CompiledSql {
  /** the FROM topic filters */
  from: string[];
  /** the selected columns as a plain object, or undefined when WHERE does not pass; throws when evaluating fails */
  run(src: Source): Sel | undefined;
  /** the same as a record whose plain column copies are read when read (what actions get: selection.ts) */
  runLazy(src: Source): Sel | undefined;
  /**
   * Set when WHERE (or its absence) depends on nothing of a message but its topic and QoS
   * and runs before SELECT: WHERE alone, whose answer the engine keeps per topic and QoS
   * (a message on a topic the rule already judged costs no evaluation); `selectLazy` is
   * then SELECT alone.
   */
  byTopic: ((src: Source) => boolean) | undefined;
  selectLazy(src: Source): Sel;
  /** when SELECT only copies event columns: selected name → column (selection.ts) */
  copies: ReadonlyMap<string, string> | undefined;
}

/** The columns whose values are the same for every message on one topic at one QoS. */
const TOPIC_COLUMNS: ReadonlySet<string> = new Set(['topic', 'qos', 'node', 'event']);

export function compileSql(sql: string): CompiledSql {
  return compileStatement(parseSql(sql));
}

export function compileStatement(stmt: Statement): CompiledSql {
  // the top-level names an expression column defines: WHERE reads those from the selection
  const aliases = new Set<string>();
  // (a column selected under its own name, `SELECT qos`, reads the same from either)
  for (const f of stmt.fields) if (f.kind === 'expr' && !(f.expr.kind === 'col' && f.as.length === 1 && f.as[0] === f.expr.name)) aliases.add(f.as[0]!);
  const { plain, lazy, copies } = selection(stmt.fields, (e) => compileExpr(e, undefined));
  const whereExpr = stmt.where;
  const where = whereExpr === undefined ? undefined : compileExpr(whereExpr, aliases);
  // a WHERE that reads no alias runs first: an event it refuses costs no selection
  if (where === undefined || !readsAlias(whereExpr!, aliases)) {
    const passes = where === undefined ? () => true : (src: Source) => truthy(where(src, NO_SELECTION));
    return {
      from: stmt.from,
      run: (src) => (passes(src) ? plain(src) : undefined),
      runLazy: (src) => (passes(src) ? lazy(src) : undefined),
      byTopic: whereExpr === undefined || readsOnly(whereExpr, TOPIC_COLUMNS) ? passes : undefined,
      selectLazy: lazy,
      copies,
    };
  }
  const then = (select: (src: Source) => Sel) => (src: Source) => {
    const sel = select(src);
    return truthy(where(src, sel)) ? sel : undefined;
  };
  return { from: stmt.from, run: then(plain), runLazy: then(lazy), byTopic: undefined, selectLazy: lazy, copies };
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
