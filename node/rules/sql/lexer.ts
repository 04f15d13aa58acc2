import { createToken, Lexer, type TokenType } from 'chevrotain';

/** The rule SQL's tokens (EMQX 4.x's emqx_rule_sqlparser): keywords are case-insensitive. */

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /\s+/, group: Lexer.SKIPPED });
export const Ident = createToken({ name: 'Ident', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });
const keyword = (name: string): TokenType => createToken({ name, pattern: new RegExp(`${name}(?![A-Za-z0-9_])`, 'i'), longer_alt: Ident });
export const Select = keyword('select');
export const From = keyword('from');
export const Where = keyword('where');
export const As = keyword('as');
export const And = keyword('and');
export const Or = keyword('or');
export const Not = keyword('not');
export const Div = keyword('div');
export const Mod = keyword('mod');
export const True = keyword('true');
export const False = keyword('false');
export const Null = keyword('null');
/** `'...'` or `"..."`, a backslash escaping the next character */
export const Str = createToken({ name: 'String', pattern: /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/ });
export const Num = createToken({ name: 'Number', pattern: /(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/ });
export const Match = createToken({ name: 'Match', pattern: /=~/ });
export const Ge = createToken({ name: 'Ge', pattern: />=/ });
export const Le = createToken({ name: 'Le', pattern: /<=/ });
export const Ne = createToken({ name: 'Ne', pattern: /!=|<>/ });
export const Eq = createToken({ name: 'Eq', pattern: /=/ });
export const Gt = createToken({ name: 'Gt', pattern: />/ });
export const Lt = createToken({ name: 'Lt', pattern: /</ });
export const Plus = createToken({ name: 'Plus', pattern: /\+/ });
export const Minus = createToken({ name: 'Minus', pattern: /-/ });
export const Star = createToken({ name: 'Star', pattern: /\*/ });
export const Slash = createToken({ name: 'Slash', pattern: /\// });
export const Comma = createToken({ name: 'Comma', pattern: /,/ });
export const Dot = createToken({ name: 'Dot', pattern: /\./ });
export const LParen = createToken({ name: 'LParen', pattern: /\(/ });
export const RParen = createToken({ name: 'RParen', pattern: /\)/ });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/ });
export const RBracket = createToken({ name: 'RBracket', pattern: /\]/ });

/** In match order: keywords before identifiers, longer operators before their prefixes. */
export const ALL_TOKENS: TokenType[] = [
  WhiteSpace,
  Select, From, Where, As, And, Or, Not, Div, Mod, True, False, Null,
  Ident, Str, Num,
  Match, Ge, Le, Ne, Eq, Gt, Lt,
  Plus, Minus, Star, Slash, Comma, Dot, LParen, RParen, LBracket, RBracket,
];

let lexer: Lexer | undefined;
/** The lexer, built on first use (see the parser's note on start-up garbage). */
export const sqlLexer = (): Lexer => (lexer ??= new Lexer(ALL_TOKENS, { positionTracking: 'full', ensureOptimizations: false }));
