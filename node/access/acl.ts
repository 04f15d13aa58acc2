import { CLIENTID, HASH, PLUS, USERNAME, cidrContains, parseIp, type AclRule, type AclTopic, type AclWho, type FilterWord } from './acl-rules.js';

export type AclAccess = 'publish' | 'subscribe';
export type AclResult = 'allow' | 'deny';

export interface AclSubject {
  clientid: string;
  username?: string;
  peerhost: string;
}

/** Per-check state: the peer address is parsed at most once, and only if a rule needs it. */
interface Ctx {
  subject: AclSubject;
  ip: Uint8Array | null | undefined;
}

function peerIp(ctx: Ctx): Uint8Array | null {
  if (ctx.ip === undefined) ctx.ip = parseIp(ctx.subject.peerhost) ?? null;
  return ctx.ip;
}

function matchWho(who: AclWho, ctx: Ctx): boolean {
  switch (who.kind) {
    case 'all':
      return true;
    case 'user':
      return who.username === undefined || who.username === ctx.subject.username;
    case 'client':
      return who.clientid === undefined || who.clientid === ctx.subject.clientid;
    case 'ipaddr': {
      const ip = peerIp(ctx);
      return ip !== null && cidrContains(who.cidr, ip);
    }
    case 'ipaddrs': {
      const ip = peerIp(ctx);
      return ip !== null && who.cidrs.some((c) => cidrContains(c, ip));
    }
    case 'and':
      return who.conds.every((c) => matchWho(c, ctx));
    case 'or':
      return who.conds.some((c) => matchWho(c, ctx));
  }
}

/**
 * A placeholder value usable as one literal level. Without a value the rule cannot match
 * (EMQX would leave "%u" in place, which no real topic equals); values containing "/", "+"
 * or "#" never match either, so a client named "#" cannot widen its own rule.
 */
function placeholder(v: string | undefined): string | undefined {
  if (!v || v.includes('/') || v.includes('+') || v.includes('#')) return undefined;
  return v;
}

/**
 * emqx_topic:match/2 over levels: `rule` is the rule's filter, `topic` the checked topic
 * name (publish) or subscription filter (subscribe). The checked topic's words are always
 * literal, so its "+"/"#" only match a wildcard of the rule or themselves, while a rule "+"
 * matches any one level of it, "#" included, exactly as EMQX does.
 */
function matchWords(rule: FilterWord[], topic: string[], subject: AclSubject): boolean {
  const n = topic.length;
  for (let i = 0; i < rule.length; i++) {
    const w = rule[i]!;
    if (w === HASH) return true; // also matches the parent level: "a" matches "a/#"
    if (i >= n) return false;
    if (w === PLUS) continue;
    let lit: string | undefined;
    if (w === USERNAME) lit = placeholder(subject.username);
    else if (w === CLIENTID) lit = placeholder(subject.clientid);
    else lit = w;
    if (lit === undefined || lit !== topic[i]) return false;
  }
  return rule.length === n;
}

function matchTopic(t: AclTopic, topic: string, words: string[], subject: AclSubject): boolean {
  if (t.kind === 'eq') return t.text === topic;
  // $-topics ($SYS/...) are not covered by filters that begin with a wildcard (MQTT 4.7.2).
  const first = t.words[0];
  if ((first === PLUS || first === HASH) && topic.charCodeAt(0) === 36 /* $ */) return false;
  return matchWords(t.words, words, subject);
}

/**
 * Rules evaluated in file order; the first rule matching who, access and topic decides,
 * else `noMatch` (EMQX's acl_nomatch).
 */
export class Acl {
  // Split by access once, as EMQX does when it loads acl.conf, so a check skips rules of the other kind.
  private readonly byAccess: Record<AclAccess, AclRule[]>;

  constructor(
    readonly rules: AclRule[],
    readonly noMatch: AclResult,
  ) {
    this.byAccess = {
      publish: rules.filter((r) => r.access === 'pubsub' || r.access === 'publish'),
      subscribe: rules.filter((r) => r.access === 'pubsub' || r.access === 'subscribe'),
    };
  }

  /** The first rule that matches, or undefined; for logging which line decided. */
  match(subject: AclSubject, access: AclAccess, topic: string): AclRule | undefined {
    const ctx: Ctx = { subject, ip: undefined };
    let words: string[] | undefined;
    for (const rule of this.byAccess[access]) {
      if (rule.topics === 'all') return rule;
      if (!matchWho(rule.who, ctx)) continue;
      words ??= topic.split('/');
      for (const t of rule.topics) if (matchTopic(t, topic, words, subject)) return rule;
    }
    return undefined;
  }

  check(subject: AclSubject, access: AclAccess, topic: string): AclResult {
    return this.match(subject, access, topic)?.permission ?? this.noMatch;
  }
}
