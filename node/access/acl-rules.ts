import { readFileSync } from 'node:fs';
import { canonicalIp, cidrContains, parseCidr, parseIp, type Cidr } from '../../shared/ip.js';

export { canonicalIp, cidrContains, parseCidr, parseIp, type Cidr };

/**
 * Parser for ACL rules in EMQX 4.x `acl.conf` syntax: a sequence of Erlang terms, each
 * ended by `.`, as `file:consult/1` reads them. Only the subset of Erlang term syntax that
 * acl.conf uses is accepted (tuples, lists, atoms, strings, binaries, `%` comments), so an
 * operator can point Starling at their existing EMQX file.
 */

export type AclPermission = 'allow' | 'deny';
export type AclRuleAccess = 'publish' | 'subscribe' | 'pubsub';


export type AclWho =
  | { kind: 'all' }
  /** `username` undefined means `{user, all}`. */
  | { kind: 'user'; username: string | undefined }
  /** `clientid` undefined means `{client, all}`. */
  | { kind: 'client'; clientid: string | undefined }
  | { kind: 'ipaddr'; cidr: Cidr }
  | { kind: 'ipaddrs'; cidrs: Cidr[] }
  | { kind: 'and'; conds: AclWho[] }
  | { kind: 'or'; conds: AclWho[] };

/** Special words of a compiled rule filter; plain words are strings. */
export const PLUS = 0;
export const HASH = 1;
/** `%u` and `%c`: replaced at check time by the username / clientid, as literal words. */
export const USERNAME = 2;
export const CLIENTID = 3;
export type FilterWord = string | typeof PLUS | typeof HASH | typeof USERNAME | typeof CLIENTID;

export type AclTopic =
  /** A topic filter, split into levels; `pattern` when it has `%u` or `%c` levels. */
  | { kind: 'filter'; text: string; words: FilterWord[]; pattern: boolean }
  /** `{eq, T}`: the checked topic must be exactly T (wildcards and placeholders are literal). */
  | { kind: 'eq'; text: string };

export interface AclRule {
  permission: AclPermission;
  who: AclWho;
  access: AclRuleAccess;
  /** 'all' for the two-element `{allow, all}` / `{deny, all}` form, which matches every topic. */
  topics: AclTopic[] | 'all';
  /** 1-based line where the rule starts, for logs and the management API. */
  line: number;
}

export class AclParseError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly file?: string,
  ) {
    super(`${file ?? 'acl'}:${line}: ${reason}`);
    this.name = 'AclParseError';
  }
}

// ---------------------------------------------------------------------------------------
// Tokenizer and term reader for the Erlang term subset.

type TokKind = '{' | '}' | '[' | ']' | ',' | '.' | '<<' | '>>' | 'atom' | 'string' | 'eof';
interface Tok {
  kind: TokKind;
  value: string;
  line: number;
}

const ESCAPES: Record<string, string> = { b: '\b', d: '\x7f', e: '\x1b', f: '\f', n: '\n', r: '\r', s: ' ', t: '\t', v: '\v' };

const WORD = /[A-Za-z0-9_@]*/y;

function wordAt(src: string, i: number): string {
  WORD.lastIndex = i;
  return WORD.exec(src)![0];
}

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  const n = src.length;
  // Reads a quoted string or quoted atom body with Erlang escapes; i is after the quote.
  const quoted = (q: string, startLine: number): string => {
    let out = '';
    for (;;) {
      if (i >= n) throw new AclParseError(`unterminated ${q === '"' ? 'string' : 'quoted atom'}`, startLine);
      const c = src[i++]!;
      if (c === q) return out;
      if (c === '\n') line++;
      if (c !== '\\') {
        out += c;
        continue;
      }
      if (i >= n) continue;
      const e = src[i++]!;
      if (e in ESCAPES) out += ESCAPES[e];
      else if (e === 'x') {
        const m = /^\{([0-9a-fA-F]+)\}|^([0-9a-fA-F]{2})/.exec(src.slice(i));
        if (!m) throw new AclParseError('bad \\x escape', line);
        out += String.fromCodePoint(parseInt(m[1] ?? m[2]!, 16));
        i += m[0].length;
      } else if (e >= '0' && e <= '7') {
        const m = /^[0-7]{0,2}/.exec(src.slice(i))!;
        out += String.fromCharCode(parseInt(e + m[0], 8));
        i += m[0].length;
      } else {
        if (e === '\n') line++;
        out += e; // Erlang: an unknown escape stands for the character itself (\" \\ \').
      }
    }
  };
  while (i < n) {
    const c = src[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '%') {
      while (i < n && src[i] !== '\n') i++;
    } else if (c === '"' || c === "'") {
      const startLine = line;
      i++;
      const v = quoted(c, startLine);
      toks.push({ kind: c === '"' ? 'string' : 'atom', value: v, line: startLine });
    } else if (c === '<' && src[i + 1] === '<') {
      toks.push({ kind: '<<', value: '<<', line });
      i += 2;
    } else if (c === '>' && src[i + 1] === '>') {
      toks.push({ kind: '>>', value: '>>', line });
      i += 2;
    } else if ('{}[],.'.includes(c)) {
      toks.push({ kind: c as TokKind, value: c, line });
      i++;
    } else if (c >= 'a' && c <= 'z') {
      const word = wordAt(src, i);
      toks.push({ kind: 'atom', value: word, line });
      i += word.length;
    } else if ((c >= 'A' && c <= 'Z') || c === '_') {
      throw new AclParseError(`unexpected variable ${wordAt(src, i)} (atoms start lowercase; quote strings with ")`, line);
    } else {
      throw new AclParseError(`unexpected character ${JSON.stringify(c)}`, line);
    }
  }
  toks.push({ kind: 'eof', value: '', line });
  return toks;
}

type Term =
  | { kind: 'atom'; value: string; line: number }
  | { kind: 'string'; value: string; line: number }
  | { kind: 'tuple'; items: Term[]; line: number }
  | { kind: 'list'; items: Term[]; line: number };

function describe(t: Tok): string {
  if (t.kind === 'eof') return 'end of file';
  if (t.kind === 'atom') return `atom ${t.value}`;
  if (t.kind === 'string') return `string ${JSON.stringify(t.value)}`;
  return `"${t.value}"`;
}

class Reader {
  private pos = 0;
  constructor(private readonly toks: Tok[]) {}

  peek(): Tok {
    return this.toks[this.pos]!;
  }

  /** The token just consumed. */
  last(): Tok {
    return this.toks[this.pos - 1]!;
  }

  next(): Tok {
    return this.toks[this.pos++]!;
  }

  expect(kind: TokKind, what: string): Tok {
    const t = this.next();
    if (t.kind !== kind) throw new AclParseError(`expected ${what}, got ${describe(t)}`, t.line);
    return t;
  }

  term(): Term {
    const t = this.next();
    switch (t.kind) {
      case 'atom':
        return { kind: 'atom', value: t.value, line: t.line };
      case 'string': {
        // Adjacent string literals concatenate, as in Erlang.
        let v = t.value;
        while (this.peek().kind === 'string') v += this.next().value;
        return { kind: 'string', value: v, line: t.line };
      }
      case '<<': {
        // <<"text">>: a binary, which some acl.conf files use for topics and names.
        let v = '';
        while (this.peek().kind === 'string') v += this.next().value;
        this.expect('>>', '">>" (only <<"string">> binaries are supported)');
        return { kind: 'string', value: v, line: t.line };
      }
      case '{':
      case '[': {
        const close = t.kind === '{' ? '}' : ']';
        const items: Term[] = [];
        if (this.peek().kind === close) this.next();
        else {
          for (;;) {
            items.push(this.term());
            const sep = this.next();
            if (sep.kind === close) break;
            if (sep.kind !== ',') throw new AclParseError(`expected "," or "${close}", got ${describe(sep)}`, sep.line);
          }
        }
        return { kind: t.kind === '{' ? 'tuple' : 'list', items, line: t.line };
      }
      default:
        throw new AclParseError(`expected a term, got ${describe(t)}`, t.line);
    }
  }
}

// ---------------------------------------------------------------------------------------
// From terms to rules.

function show(t: Term): string {
  switch (t.kind) {
    case 'atom':
      return t.value;
    case 'string':
      return JSON.stringify(t.value);
    case 'tuple':
      return `{${t.items.map(show).join(', ')}}`;
    case 'list':
      return `[${t.items.map(show).join(', ')}]`;
  }
}

function fail(t: Term, reason: string): never {
  throw new AclParseError(reason, t.line);
}

function str(t: Term, what: string): string {
  if (t.kind !== 'string') fail(t, `${what} must be a string, got ${show(t)}`);
  return t.value;
}

function cidr(t: Term): Cidr {
  const s = str(t, 'an ipaddr');
  const c = parseCidr(s);
  if (!c) fail(t, `invalid IP address or CIDR ${JSON.stringify(s)}`);
  return c;
}

function compileWho(t: Term): AclWho {
  if (t.kind === 'atom' && t.value === 'all') return { kind: 'all' };
  if (t.kind !== 'tuple' || t.items.length !== 2 || t.items[0]!.kind !== 'atom') {
    fail(t, `invalid who ${show(t)}: expected all, {user, S}, {client, S}, {ipaddr, S}, {ipaddrs, [..]}, {'and', [..]} or {'or', [..]}`);
  }
  const tag = (t.items[0] as { value: string }).value;
  const arg = t.items[1]!;
  const isAll = arg.kind === 'atom' && arg.value === 'all';
  switch (tag) {
    case 'user':
      return { kind: 'user', username: isAll ? undefined : str(arg, 'a user') };
    case 'client':
      return { kind: 'client', clientid: isAll ? undefined : str(arg, 'a client') };
    case 'ipaddr':
      return { kind: 'ipaddr', cidr: cidr(arg) };
    case 'ipaddrs':
      if (arg.kind !== 'list') fail(arg, `ipaddrs takes a list of strings, got ${show(arg)}`);
      return { kind: 'ipaddrs', cidrs: arg.items.map(cidr) };
    case 'and':
    case 'or':
      if (arg.kind !== 'list') fail(arg, `'${tag}' takes a list of who conditions, got ${show(arg)}`);
      return { kind: tag, conds: arg.items.map(compileWho) };
    default:
      return fail(t, `unknown who ${tag}: expected user, client, ipaddr, ipaddrs, 'and' or 'or'`);
  }
}

function compileFilter(t: Term, text: string): AclTopic {
  if (text === '') fail(t, 'empty topic');
  const levels = text.split('/');
  let pattern = false;
  const words = levels.map((w, i): FilterWord => {
    if (w === '+') return PLUS;
    if (w === '#') {
      if (i !== levels.length - 1) fail(t, `invalid topic filter ${JSON.stringify(text)}: "#" must be the last level`);
      return HASH;
    }
    if (w.includes('+') || w.includes('#')) {
      fail(t, `invalid topic filter ${JSON.stringify(text)}: "+" and "#" must occupy a whole level`);
    }
    // Placeholders are whole levels only, as EMQX 4.x substitutes them (emqx_access_rule:feed_var).
    if (w === '%u') {
      pattern = true;
      return USERNAME;
    }
    if (w === '%c') {
      pattern = true;
      return CLIENTID;
    }
    return w;
  });
  return { kind: 'filter', text, words, pattern };
}

function compileTopic(t: Term): AclTopic {
  if (t.kind === 'string') return compileFilter(t, t.value);
  if (t.kind === 'tuple' && t.items.length === 2 && t.items[0]!.kind === 'atom' && t.items[0]!.value === 'eq') {
    const text = str(t.items[1]!, 'the topic of {eq, T}');
    if (text === '') fail(t, 'empty topic');
    return { kind: 'eq', text };
  }
  return fail(t, `invalid topic ${show(t)}: expected a string or {eq, "topic"}`);
}

function compileRule(t: Term): AclRule {
  const shape = 'a rule is {allow|deny, Who, publish|subscribe|pubsub, ["topic", ...]} or {allow|deny, all}';
  if (t.kind !== 'tuple') fail(t, `expected a rule tuple, got ${show(t)}; ${shape}`);
  const [perm, who, access, topics] = t.items;
  if (!perm || perm.kind !== 'atom' || (perm.value !== 'allow' && perm.value !== 'deny')) {
    fail(perm ?? t, `a rule must start with allow or deny, got ${perm ? show(perm) : 'nothing'}`);
  }
  const permission = perm.value as AclPermission;
  if (t.items.length === 2) {
    if (who!.kind !== 'atom' || who!.value !== 'all') fail(who!, `two-element rule must be {${permission}, all}, got ${show(t)}`);
    return { permission, who: { kind: 'all' }, access: 'pubsub', topics: 'all', line: t.line };
  }
  if (t.items.length !== 4) fail(t, `rule has ${t.items.length} elements; ${shape}`);
  if (access!.kind !== 'atom' || !['publish', 'subscribe', 'pubsub'].includes(access!.value)) {
    fail(access!, `invalid access ${show(access!)}: expected publish, subscribe or pubsub (pubsub covers both)`);
  }
  // A lone topic is taken as a one-topic list, a convenience EMQX offers for binaries.
  const list = topics!.kind === 'list' ? topics!.items : [topics!];
  return {
    permission,
    who: compileWho(who!),
    access: (access as { value: string }).value as AclRuleAccess,
    topics: list.map(compileTopic),
    line: t.line,
  };
}

/** Parses acl.conf text into rules, in file order. Throws AclParseError with a line. */
export function parseAclRules(text: string): AclRule[] {
  const r = new Reader(tokenize(text));
  const rules: AclRule[] = [];
  while (r.peek().kind !== 'eof') {
    const term = r.term();
    const end = r.peek();
    // Reported where the rule ends, which is where the "." is missing.
    if (end.kind !== '.') throw new AclParseError(`missing "." after the rule that starts on line ${term.line} (found ${describe(end)})`, r.last().line);
    r.next();
    rules.push(compileRule(term));
  }
  return rules;
}

/** Reads and parses an acl.conf file; parse errors name the file. */
export function loadAclFile(path: string): AclRule[] {
  const text = readFileSync(path, 'utf8');
  try {
    return parseAclRules(text);
  } catch (err) {
    if (err instanceof AclParseError) throw new AclParseError(err.reason, err.line, path);
    throw err;
  }
}
