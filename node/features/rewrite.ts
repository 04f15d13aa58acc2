/*
 * Catalog entry: EMQX name `emqx_mod_rewrite`, namespace modules, type `feature`,
 * description "EMQX Topic Rewrite Module", default state: loaded when `rewriteRules`
 * (STARLING_REWRITE_RULES) is set. Factory: rewriteModule(broker).
 */
import { ConfigError, type Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { Message } from '../../shared/message.js';
import { parseShare, validTopicFilter, validTopicName } from '../../shared/topic.js';
import type { TopicRewrite } from '../core/ports.js';
import { TopicTrie } from '../router/trie.js';
import type { Feature } from './feature.js';
import { jsonList } from './json-setting.js';

export type RewriteAction = 'publish' | 'subscribe' | 'all';

/** One rule as configured (EMQX 4.x: action, source_topic, re, dest_topic). */
export interface RewriteRule {
  action: RewriteAction;
  source_topic: string;
  re: string;
  dest_topic: string;
}

/** The destination template, split once: literal text, `$N` captures, `%c` clientid, `%u` username. */
type Part = string | number | '%c' | '%u';

interface CompiledRule {
  re: RegExp;
  parts: Part[];
}

const ACTIONS: readonly RewriteAction[] = ['publish', 'subscribe', 'all'];

/**
 * Parses and checks STARLING_REWRITE_RULES (a JSON array). A bad rule is a ConfigError
 * naming its position (`rewriteRules[2].re`), so a node refuses to start with it.
 */
export function parseRewriteRules(raw: string | undefined): RewriteRule[] {
  if (raw === undefined) return [];
  return jsonList(raw, 'rewriteRules (STARLING_REWRITE_RULES)', '{"action","source_topic","re","dest_topic"}').map((o, i) => {
    const at = `rewriteRules[${i}]`;
    const action = o.action ?? 'all';
    if (!ACTIONS.includes(action as RewriteAction)) throw new ConfigError(`${at}.action must be one of ${ACTIONS.join(', ')}, got ${JSON.stringify(action)}`);
    for (const k of ['source_topic', 're', 'dest_topic']) {
      if (typeof o[k] !== 'string' || o[k] === '') throw new ConfigError(`${at}.${k} must be a non-empty string`);
    }
    const rule = o as unknown as RewriteRule;
    if (!validTopicFilter(rule.source_topic)) throw new ConfigError(`${at}.source_topic "${rule.source_topic}" is not a valid topic filter`);
    try {
      new RegExp(rule.re);
    } catch (err) {
      throw new ConfigError(`${at}.re: ${(err as Error).message}`);
    }
    // a PUBLISH topic cannot have wildcards; a SUBSCRIBE filter may
    const destOk = action === 'subscribe' ? validTopicFilter(rule.dest_topic) : validTopicName(rule.dest_topic);
    if (!destOk) throw new ConfigError(`${at}.dest_topic "${rule.dest_topic}" is not a valid topic ${action === 'subscribe' ? 'filter' : 'name'}`);
    return { action: action as RewriteAction, source_topic: rule.source_topic, re: rule.re, dest_topic: rule.dest_topic };
  });
}

function compileTemplate(dest: string): Part[] {
  const parts: Part[] = [];
  const token = /\$(\d+)|%c|%u/g;
  let last = 0;
  for (let m = token.exec(dest); m !== null; m = token.exec(dest)) {
    if (m.index > last) parts.push(dest.slice(last, m.index));
    parts.push(m[1] !== undefined ? Number(m[1]) : (m[0] as '%c' | '%u'));
    last = m.index + m[0].length;
  }
  if (last < dest.length) parts.push(dest.slice(last));
  return parts;
}

/**
 * One direction's rules (PUBLISH, or SUBSCRIBE/UNSUBSCRIBE), precompiled: a trie of the
 * source filters, whose cached match makes the per-topic check one Map lookup for topics
 * seen before, and each rule's regex and split template.
 */
class RuleSet {
  private readonly rules: CompiledRule[] = [];
  /** source filter → the position of the first rule with it (a later one never wins) */
  private readonly trie = new TopicTrie<number>();

  add(rule: RewriteRule): void {
    const i = this.rules.length;
    this.rules.push({ re: new RegExp(rule.re), parts: compileTemplate(rule.dest_topic) });
    if (this.trie.get(rule.source_topic) === undefined) this.trie.set(rule.source_topic, i);
  }

  get size(): number {
    return this.rules.length;
  }

  /**
   * EMQX's order: the first rule whose source filter matches is the one; its regex then
   * extracts `$1..$N`, and when it does not match the topic stays as it is.
   */
  apply(topic: string, clientid: string, username: string | undefined): string {
    const hits = this.trie.matchCached(topic);
    if (hits.length === 0) return topic;
    let first = hits[0]!;
    for (let i = 1; i < hits.length; i++) if (hits[i]! < first) first = hits[i]!;
    const rule = this.rules[first]!;
    const m = rule.re.exec(topic);
    if (m === null) return topic;
    let out = '';
    for (const p of rule.parts) {
      if (typeof p === 'number') out += p < m.length ? (m[p] ?? '') : `$${p}`;
      // EMQX leaves %c and %u as they are when the client has no such value
      else if (p === '%c') out += clientid === '' ? p : clientid;
      else if (p === '%u') out += username === undefined || username === '' ? p : username;
      else out += p;
    }
    return out;
  }
}

/** The node's rewrite port: PUBLISH topics and SUBSCRIBE/UNSUBSCRIBE filters. */
export class TopicRewriter implements TopicRewrite {
  private readonly pub = new RuleSet();
  private readonly sub = new RuleSet();

  constructor(rules: readonly RewriteRule[]) {
    for (const r of rules) {
      if (r.action !== 'subscribe') this.pub.add(r);
      if (r.action !== 'publish') this.sub.add(r);
    }
  }

  get empty(): boolean {
    return this.pub.size === 0 && this.sub.size === 0;
  }

  publish(msg: Message): void {
    const topic = this.pub.apply(msg.topic, msg.from, msg.fromUsername);
    // a clientid or capture with a wildcard cannot make a topic name: the message keeps its own
    if (topic !== msg.topic && validTopicName(topic)) msg.topic = topic;
  }

  filter(topic: string, clientid: string, username: string | undefined): string {
    // only the filter part of a shared subscription is rewritten
    const share = parseShare(topic);
    if (!share) return this.sub.apply(topic, clientid, username);
    const f = this.sub.apply(share.filter, clientid, username);
    if (f === share.filter) return topic;
    return share.group === '$queue' ? `$queue/${f}` : `$share/${share.group}/${f}`;
  }
}

/** What the module needs of its node (Broker has it). */
export interface RewriteHost {
  readonly cfg: Config;
  readonly log: Logger;
  rewrite: TopicRewrite | undefined;
}

/**
 * emqx_mod_rewrite: while loaded, the configured rules rewrite PUBLISH topics (and wills and
 * API publishes, as EMQX's message.publish hook does) and SUBSCRIBE/UNSUBSCRIBE filters; the
 * API shows the rewritten subscriptions. Loaded without rules it sets nothing, so PUBLISH
 * does no extra work; unloaded, the node's port is cleared.
 */
export function rewriteModule(host: RewriteHost): Feature {
  let active = false;
  return {
    get active() {
      return active;
    },
    load() {
      const rules = parseRewriteRules(host.cfg.rewriteRules);
      const rw = new TopicRewriter(rules);
      host.rewrite = rw.empty ? undefined : rw;
      active = true;
      host.log.info({ rules: rules.length }, 'topic rewrite loaded');
    },
    unload() {
      host.rewrite = undefined;
      active = false;
    },
  };
}
