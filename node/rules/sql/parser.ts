import { EmbeddedActionsParser, type IToken, type TokenType } from 'chevrotain';
import type { BinOp, Expr, Field, Statement } from './ast.js';
import * as T from './lexer.js';

/**
 * The grammar of EMQX 4.x's rule SQL, as a chevrotain parser building the syntax tree
 * directly (embedded actions):
 *
 *   statement := SELECT field (',' field)* FROM string (',' string)* [WHERE expr]
 *   field     := '*' | expr [AS ident ('.' ident)*]
 *   expr      := and (OR and)*            and := not (AND not)*
 *   not       := NOT not | cmp            cmp := sum [('='|'!='|'<>'|'>'|'<'|'>='|'<='|'=~') sum]
 *   sum       := product (('+'|'-') product)*
 *   product   := unary (('*'|'/'|DIV|MOD) unary)*
 *   unary     := '-' unary | postfix      postfix := primary ('.' ident | '[' expr ']')*
 *   primary   := number | string | TRUE | FALSE | NULL | ident '(' [expr (',' expr)*] ')' | ident | '(' expr ')'
 */
class SqlParser extends EmbeddedActionsParser {
  constructor() {
    super(T.ALL_TOKENS, { maxLookahead: 2 });
    this.performSelfAnalysis();
  }

  statement = this.RULE('statement', (): Statement => {
    this.CONSUME(T.Select);
    const fields: Field[] = [];
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => fields.push(this.SUBRULE(this.field)) });
    this.CONSUME(T.From);
    const from: string[] = [];
    this.AT_LEAST_ONE_SEP2({ SEP: T.Comma, DEF: () => {
        const tok = this.CONSUME(T.Str);
        this.ACTION(() => from.push(unquote(tok.image)));
      },
    });
    let where: Expr | undefined;
    this.OPTION(() => {
      this.CONSUME(T.Where);
      where = this.SUBRULE(this.expr);
    });
    return { fields, from, where };
  });

  private field = this.RULE('field', (): Field => {
    return this.OR([
      { ALT: () => (this.CONSUME(T.Star), { kind: 'all' as const }) },
      {
        ALT: () => {
          const start = this.LA(1);
          const expr = this.SUBRULE(this.expr);
          const end = this.LA(0);
          let as: string[] | undefined;
          this.OPTION(() => {
            this.CONSUME(T.As);
            as = [this.CONSUME(T.Ident).image];
            this.MANY(() => {
              this.CONSUME(T.Dot);
              as!.push(this.CONSUME2(T.Ident).image);
            });
          });
          return this.ACTION(() => ({ kind: 'expr' as const, expr, as: as ?? defaultName(expr, start, end) }));
        },
      },
    ]);
  });

  private expr = this.RULE('expr', (): Expr => {
    let left = this.SUBRULE(this.andExpr);
    this.MANY(() => {
      this.CONSUME(T.Or);
      const right = this.SUBRULE2(this.andExpr);
      left = { kind: 'bin', op: 'or', left, right };
    });
    return left;
  });

  private andExpr = this.RULE('andExpr', (): Expr => {
    let left = this.SUBRULE(this.notExpr);
    this.MANY(() => {
      this.CONSUME(T.And);
      const right = this.SUBRULE2(this.notExpr);
      left = { kind: 'bin', op: 'and', left, right };
    });
    return left;
  });

  private notExpr = this.RULE('notExpr', (): Expr => {
    return this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Not);
          return { kind: 'not' as const, of: this.SUBRULE(this.notExpr) };
        },
      },
      { ALT: () => this.SUBRULE(this.cmpExpr) },
    ]);
  });

  private cmpExpr = this.RULE('cmpExpr', (): Expr => {
    let left = this.SUBRULE(this.sum);
    this.OPTION(() => {
      const op = this.OR(CMP_OPS.map(([tok, name]) => ({ ALT: () => (this.CONSUME(tok), name) })));
      const right = this.SUBRULE2(this.sum);
      left = { kind: 'bin', op, left, right };
    });
    return left;
  });

  private sum = this.RULE('sum', (): Expr => {
    let left = this.SUBRULE(this.product);
    this.MANY(() => {
      const op = this.OR(SUM_OPS.map(([tok, name]) => ({ ALT: () => (this.CONSUME(tok), name) })));
      const right = this.SUBRULE2(this.product);
      left = { kind: 'bin', op, left, right };
    });
    return left;
  });

  private product = this.RULE('product', (): Expr => {
    let left = this.SUBRULE(this.unary);
    this.MANY(() => {
      const op = this.OR(PRODUCT_OPS.map(([tok, name]) => ({ ALT: () => (this.CONSUME(tok), name) })));
      const right = this.SUBRULE2(this.unary);
      left = { kind: 'bin', op, left, right };
    });
    return left;
  });

  private unary = this.RULE('unary', (): Expr => {
    return this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          return { kind: 'neg' as const, of: this.SUBRULE(this.unary) };
        },
      },
      { ALT: () => this.SUBRULE(this.postfix) },
    ]);
  });

  private postfix = this.RULE('postfix', (): Expr => {
    let e = this.SUBRULE(this.primary);
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.Dot);
            // a keyword is a key too after a dot (payload.from, payload.as)
            const key = this.OR2(KEY_TOKENS.map((tok) => ({ ALT: () => this.CONSUME(tok).image })));
            e = { kind: 'get', of: e, key };
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.LBracket);
            const index = this.SUBRULE(this.expr);
            this.CONSUME(T.RBracket);
            e = { kind: 'index', of: e, index };
          },
        },
      ]);
    });
    return e;
  });

  private primary = this.RULE('primary', (): Expr => {
    return this.OR([
      { ALT: () => ({ kind: 'num' as const, value: Number(this.CONSUME(T.Num).image) }) },
      {
        ALT: () => {
          const tok = this.CONSUME(T.Str);
          return { kind: 'str' as const, value: this.ACTION(() => unquote(tok.image)) ?? '' };
        },
      },
      { ALT: () => (this.CONSUME(T.True), { kind: 'bool' as const, value: true }) },
      { ALT: () => (this.CONSUME(T.False), { kind: 'bool' as const, value: false }) },
      { ALT: () => (this.CONSUME(T.Null), { kind: 'null' as const }) },
      {
        ALT: () => {
          const name = this.CONSUME2(T.Ident);
          this.CONSUME(T.LParen);
          const args: Expr[] = [];
          this.MANY_SEP({ SEP: T.Comma, DEF: () => args.push(this.SUBRULE(this.expr)) });
          this.CONSUME(T.RParen);
          return { kind: 'call' as const, name: name.image.toLowerCase(), args, line: name.startLine ?? 1, column: name.startColumn ?? 1 };
        },
      },
      { ALT: () => ({ kind: 'col' as const, name: this.CONSUME3(T.Ident).image }) },
      {
        ALT: () => {
          this.CONSUME2(T.LParen);
          const e = this.SUBRULE2(this.expr);
          this.CONSUME2(T.RParen);
          return e;
        },
      },
    ]);
  });
}

const CMP_OPS: [TokenType, BinOp][] = [[T.Eq, '='], [T.Ne, '!='], [T.Ge, '>='], [T.Le, '<='], [T.Gt, '>'], [T.Lt, '<'], [T.Match, '=~']];
const SUM_OPS: [TokenType, BinOp][] = [[T.Plus, '+'], [T.Minus, '-']];
const PRODUCT_OPS: [TokenType, BinOp][] = [[T.Star, '*'], [T.Slash, '/'], [T.Div, 'div'], [T.Mod, 'mod']];
const KEY_TOKENS: TokenType[] = [T.Ident, T.Select, T.From, T.Where, T.As, T.And, T.Or, T.Not, T.Div, T.Mod, T.True, T.False, T.Null];

/** A string literal's text: quotes off, backslash escapes resolved (\n, \t, \\, \', \"). */
function unquote(image: string): string {
  return image.slice(1, -1).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c));
}

/** A column without AS is named by its path (`payload.x` → payload, x), else by its text, as EMQX names it. */
function defaultName(e: Expr, start: IToken, end: IToken): string[] {
  const path: string[] = [];
  let cur: Expr = e;
  while (cur.kind === 'get') {
    path.unshift(cur.key);
    cur = cur.of;
  }
  if (cur.kind === 'col') return [cur.name, ...path];
  return [currentSql.slice(start.startOffset, (end.endOffset ?? start.startOffset) + 1)];
}

// the text being parsed, for the names of unaliased expression columns
let currentSql = '';

/** A rule SQL that does not parse: the message says what and where (line and column, 1-based). */
export class SqlError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${message} at line ${line}, column ${column}`);
  }
}

// one parser, reused: chevrotain's parsers are built once (self-analysis) and reset per input.
// Built on the first rule, not at start: the analysis leaves megabytes of garbage, whose
// collection a node without rules should not pay for while it serves traffic.
let shared: SqlParser | undefined;

/** The syntax tree of a rule SQL; throws SqlError with the position of the first problem. */
export function parseSql(sql: string): Statement {
  const lexed = T.sqlLexer().tokenize(sql);
  if (lexed.errors.length > 0) {
    const e = lexed.errors[0]!;
    throw new SqlError(`unexpected character ${JSON.stringify(sql.substr(e.offset, 1))}`, e.line ?? 1, e.column ?? 1);
  }
  currentSql = sql;
  const parser = (shared ??= new SqlParser());
  parser.input = lexed.tokens;
  const stmt = parser.statement();
  if (parser.errors.length > 0) {
    const e = parser.errors[0]!;
    const tok = e.token;
    const atEnd = tok.tokenType.name === 'EOF';
    const last = lexed.tokens[lexed.tokens.length - 1];
    const line = atEnd ? (last?.endLine ?? 1) : (tok.startLine ?? 1);
    const column = atEnd ? (last?.endColumn ?? 0) + 1 : (tok.startColumn ?? 1);
    const found = atEnd ? 'end of input' : JSON.stringify(tok.image);
    throw new SqlError(`syntax error: ${describe(e.message, found)}`, line, column);
  }
  return stmt;
}

/** What went wrong, from chevrotain's exception: the token it expected when it says, else what it did not expect. */
function describe(message: string, found: string): string {
  const expected = /Expecting token of type --> (\w+) <--/.exec(message)?.[1];
  return expected === undefined ? `unexpected ${found}` : `expected ${expected.toUpperCase()}, found ${found}`;
}
