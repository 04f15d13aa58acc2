import type { Expr } from './ast.js';
import { FUNCTIONS } from './functions.js';

/** What an expression reads of its event, found once when a rule is compiled. */

/** Whether an expression reads a column of the selection (an alias) rather than of the event. */
export function readsAlias(e: Expr, aliases: Set<string>): boolean {
  return some(e, (x) => x.kind === 'col' && aliases.has(x.name));
}

/**
 * Whether an expression's value depends on nothing of an event but the columns `cols`
 * (for a message: topic and QoS), and calls no clock: the same for every event with the
 * same values of those. The payload is out (a path into it reads it).
 */
export function readsOnly(e: Expr, cols: ReadonlySet<string>): boolean {
  return !some(e, (x) => (x.kind === 'col' && !cols.has(x.name)) || (x.kind === 'call' && FUNCTIONS[x.name]?.volatile === true));
}

/** Whether `test` holds for an expression or any expression inside it. */
function some(e: Expr, test: (e: Expr) => boolean): boolean {
  if (test(e)) return true;
  switch (e.kind) {
    case 'get':
    case 'neg':
    case 'not':
      return some(e.of, test);
    case 'index':
      return some(e.of, test) || some(e.index, test);
    case 'call':
      return e.args.some((x) => some(x, test));
    case 'bin':
      return some(e.left, test) || some(e.right, test);
    default:
      return false;
  }
}
