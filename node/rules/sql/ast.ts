/** The rule SQL's syntax tree, as node/rules/sql/parser.ts builds it and compile.ts turns it into closures. */

export type Expr =
  | { kind: 'num'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' }
  /** a column of the event (or of the selected data, in WHERE) */
  | { kind: 'col'; name: string }
  /** `e.name` */
  | { kind: 'get'; of: Expr; key: string }
  /** `e[n]`: 1-based, negative from the end, as EMQX's */
  | { kind: 'index'; of: Expr; index: Expr }
  | { kind: 'call'; name: string; args: Expr[]; line: number; column: number }
  | { kind: 'neg'; of: Expr }
  | { kind: 'not'; of: Expr }
  | { kind: 'bin'; op: BinOp; left: Expr; right: Expr };

export type BinOp = '=' | '!=' | '>' | '<' | '>=' | '<=' | '=~' | '+' | '-' | '*' | '/' | 'div' | 'mod' | 'and' | 'or';

/** One SELECT column: `*`, or an expression with its name (the alias, or the path as written). */
export type Field = { kind: 'all' } | { kind: 'expr'; expr: Expr; as: string[] };

export interface Statement {
  fields: Field[];
  /** the FROM topic filters (EMQX's `for`) */
  from: string[];
  where: Expr | undefined;
}
