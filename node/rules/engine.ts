import type { Logger } from '../../shared/logger.js';
import type { Message } from '../../shared/message.js';
import type { ActionMetrics, ActionRow, RuleCheck, RuleRecord, RulesNodeMetrics } from '../../shared/api/rules.js';
import type { Detach, HookName, Hooks, MessagePublishEvent } from '../core/hooks.js';
import type { Feature } from '../features/feature.js';
import type { ActionHost, ActionInstance, ActionType, ResourceInstance, Selected } from './contracts.js';
import { EVENT_TOPICS, MessageSource, type ClientLookup, type EventTopic } from './events.js';
import { actionRow, type Registry } from './actions/registry.js';
import { RuleCounters, TICK_MS } from './metrics.js';
import { compileSql, type CompiledSql, type Source } from './sql/compile.js';
import { bindActions, checkRule } from './bind.js';
import { PASS, REFUSE, TopicPlans, UNKNOWN, type TopicPlan } from './topic-plans.js';
import { repeatActions, repeatable } from './repeat.js';

/** A rule as this node runs it: its SQL compiled, its actions bound. */
interface RunningRule {
  id: string;
  sql: CompiledSql;
  actions: BoundAction[];
  counters: RuleCounters;
  /** set while its actions run: a message it republishes does not run it again (no loop) */
  running: boolean;
  /** whether its run on a message may be repeated for the next of the same topic, QoS and publisher (repeat.ts) */
  repeatable: boolean;
  /** the plan (topic), QoS and publisher of the message its actions last ran for, when that was in onPublish */
  lastPlan: TopicPlan<RunningRule> | undefined;
  lastQos: number;
  lastFrom: string;
}

export interface BoundAction {
  id: string;
  instance: ActionInstance;
  counters: ActionMetrics;
}

/** What the engine needs of its node. */
export interface RuleEngineHost {
  nodeName: string;
  hooks: Hooks;
  actions: Registry<ActionType>;
  publish(msg: Message): void;
  /** counts a message nobody would get or see instead of publishing it (Broker.dropIfUnrouted) */
  dropIfUnrouted: ActionHost['dropIfUnrouted'];
  lookup: ClientLookup;
  /** the node's resource instances (web_hook, ...), by resource id */
  resource(id: string): ResourceInstance | undefined;
  log: Logger;
}

/**
 * EMQX's emqx_rule_engine on one node: runs the cluster's enabled rules (config kind
 * 'rules', handed to setRules) on this node's own traffic. Message rules hang off
 * message.publish through one topic trie of their FROM filters (any number of rules: one
 * cached trie match per publish); event rules off their own hooks. Attached only while
 * loaded with a rule that needs the hook: with no rules, the publish path pays nothing.
 * An action that throws or rejects counts as failed and never disturbs the publish.
 */
export class RuleEngine implements Feature {
  private on = false;
  private records: RuleRecord[] = [];
  private running: RunningRule[] = [];
  private plans = new TopicPlans<RunningRule>();
  /** plans with messages not yet in their rules' matched counts (TopicPlan.pending) */
  private readonly pendingPlans: TopicPlan<RunningRule>[] = [];
  /** rules whose actions are running (a message they publish takes the full path) */
  private depth = 0;
  private detach: Detach[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;
  /** counters by rule id and action id, kept across rule updates */
  private ruleCounters = new Map<string, RuleCounters>();
  private actionCounters = new Map<string, ActionMetrics>();
  private readonly actionHost: ActionHost;

  constructor(private readonly host: RuleEngineHost) {
    this.actionHost = { nodeName: host.nodeName, publish: host.publish, dropIfUnrouted: host.dropIfUnrouted, resource: (id) => host.resource(id), log: host.log };
  }

  get active(): boolean {
    return this.on;
  }

  load(): void {
    this.on = true;
    this.rebuild();
  }

  unload(): void {
    this.on = false;
    this.rebuild();
  }

  /** The cluster's rules (the store's records); a rule this node cannot bind is logged and skipped. */
  setRules(records: readonly RuleRecord[]): void {
    this.records = [...records];
    this.rebuild();
  }

  /** This node's counters of every rule in the cluster config and of their actions. */
  metrics(): RulesNodeMetrics {
    this.flushMatched();
    const out: RulesNodeMetrics = { rules: {}, actions: {} };
    for (const [id, c] of this.ruleCounters) out.rules[id] = c.values();
    for (const [id, c] of this.actionCounters) out.actions[id] = { ...c };
    return out;
  }

  /** Whether a rule's SQL parses and its actions bind here (nothing is kept). */
  check(rawsql: string, actions: unknown): RuleCheck {
    return checkRule(rawsql, actions, this.host.actions, this.actionHost);
  }

  /** The action types this node offers, as GET /api/v4/actions shows them. */
  actionRows(): ActionRow[] {
    return this.host.actions.list().map(actionRow);
  }

  /**
   * Whether the engine's message.publish listener (when attached) would run no rule for a
   * message on `topic`: the broker then need not build the message (Broker.dropIfUnrouted).
   */
  onlyPublishListener(topic: string): boolean {
    return this.plans.size > 0 && this.plans.plan(topic).rules.length === 0;
  }

  private rebuild(): void {
    this.flushMatched();
    for (const r of this.running) for (const a of r.actions) a.instance.close?.();
    for (const d of this.detach) d();
    this.detach = [];
    this.running = [];
    this.plans = new TopicPlans();
    const ids = new Set(this.records.map((r) => r.id));
    for (const id of this.ruleCounters.keys()) if (!ids.has(id)) this.ruleCounters.delete(id);
    const actionIds = new Set(this.records.flatMap((r) => r.actions.map((a) => a.id)));
    for (const id of this.actionCounters.keys()) if (!actionIds.has(id)) this.actionCounters.delete(id);
    for (const rec of this.records) {
      if (!this.ruleCounters.has(rec.id)) this.ruleCounters.set(rec.id, new RuleCounters());
      for (const a of rec.actions) if (!this.actionCounters.has(a.id)) this.actionCounters.set(a.id, { success: 0, failed: 0 });
    }
    if (this.on) for (const rec of this.records) if (rec.enabled) this.start(rec);
    this.attach();
  }

  private start(rec: RuleRecord): void {
    let rule: RunningRule;
    try {
      const sql = compileSql(rec.rawsql);
      const actions = bindActions(rec.actions, this.host.actions, this.actionHost).map((b) => ({ ...b, counters: this.actionCounters.get(b.id)! }));
      rule = { id: rec.id, sql, actions, counters: this.ruleCounters.get(rec.id)!, running: false, repeatable: repeatable(sql, actions), lastPlan: undefined, lastQos: 0, lastFrom: '' };
    } catch (err) {
      this.host.log.warn({ rule: rec.id, err: (err as Error).message }, 'rule not started');
      return;
    }
    this.running.push(rule);
    for (const filter of rule.sql.from) {
      const event = EVENT_TOPICS[filter];
      if (event !== undefined) this.onEvent(event, rule);
      else this.plans.add(filter, rule);
    }
  }

  /** Attaches message.publish (when a message rule runs) and the rate timer (when any does). */
  private attach(): void {
    if (this.plans.size > 0) this.detach.push(this.host.hooks.messagePublish.on(this.onPublish));
    if (this.running.length > 0 && this.timer === undefined) {
      this.lastTick = Date.now();
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    } else if (this.running.length === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private onEvent(event: EventTopic, rule: RunningRule): void {
    const { nodeName, lookup } = this.host;
    const on = this.host.hooks.on.bind(this.host.hooks) as (name: HookName, fn: (e: unknown) => void) => Detach;
    this.detach.push(on(event.hook, (e) => this.apply(rule, event.source(e as never, nodeName, lookup))));
  }

  private tick(): void {
    const now = Date.now();
    // a late timer (a busy event loop) must not read as a burst
    const seconds = Math.max(now - this.lastTick, 1) / 1000;
    this.lastTick = now;
    this.flushMatched();
    for (const c of this.ruleCounters.values()) c.tick(seconds);
  }

  private readonly onPublish = (e: MessagePublishEvent): void => {
    const msg = e.message;
    // EMQX's rule engine ignores the broker's own messages ($SYS, presence)
    if (msg.sys) return;
    const plan = this.plans.plan(msg.topic);
    if (plan.rules.length === 0) return;
    // a message published by a running rule's action takes the full path (it skips that rule)
    const run = this.depth === 0 ? plan.runs[msg.qos] : undefined;
    if (run === undefined) return this.judge(plan, msg);
    // every rule of the plan matched it: counted in bulk (flushMatched), not per rule and message
    if (plan.pending++ === 0) this.pendingPlans.push(plan);
    const qos = msg.qos;
    const from = msg.from;
    // made when a rule runs (not for rules that repeat their last run)
    let src: MessageSource | undefined;
    let lastSelect: ((src: Source) => Selected) | undefined;
    let lastSelected: Selected | undefined;
    for (let i = 0; i < run.length; i++) {
      const rule = run[i]!;
      // its last run was on a message of this topic, QoS and publisher: its actions may repeat it
      let done = 0;
      if (rule.lastPlan === plan && rule.lastQos === qos && rule.lastFrom === from) {
        done = repeatActions(rule.actions);
        if (done === rule.actions.length) continue;
      }
      src ??= new MessageSource(msg, this.host.nodeName, this.host.lookup);
      const sql = rule.sql;
      if (sql.byTopic === undefined) {
        this.act(rule, src, sql.runLazy);
        continue;
      }
      // rules selecting the same plain columns share one selection function (selection.ts):
      // its record for this message serves them all, one allocation per message, not per rule
      const select = sql.selectLazy;
      if (select !== lastSelect) {
        const sel = this.select(rule, src, select);
        if (sel === undefined) continue;
        lastSelect = select;
        lastSelected = sel;
      }
      this.runActions(rule, lastSelected!, src, done);
      if (rule.repeatable) {
        rule.lastPlan = plan;
        rule.lastQos = qos;
        rule.lastFrom = from;
      }
    }
  };

  /**
   * A message on a plan whose verdicts at its QoS are not all known yet (or published by a
   * running rule): each rule counted and judged, the verdicts kept, and once they are all
   * known the plan's list of the rules to run at that QoS made.
   */
  private judge(plan: TopicPlan<RunningRule>, msg: Message): void {
    const rules = plan.rules;
    const src = new MessageSource(msg, this.host.nodeName, this.host.lookup);
    let lastSelect: ((src: Source) => Selected) | undefined;
    let lastSelected: Selected | undefined;
    const verdicts = plan.verdicts;
    const at = msg.qos * rules.length;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.running) continue;
      const byTopic = rule.sql.byTopic;
      if (byTopic === undefined) {
        this.apply(rule, src);
        continue;
      }
      // WHERE depends only on topic and QoS: judged once per topic and QoS
      rule.counters.matched++;
      let v = verdicts[at + i]!;
      if (v === UNKNOWN) {
        try {
          v = byTopic(src) ? PASS : REFUSE;
        } catch (err) {
          this.host.log.debug({ rule: rule.id, err: (err as Error).message }, 'rule SQL failed');
          continue;
        }
        verdicts[at + i] = v;
      }
      if (v !== PASS) continue;
      const select = rule.sql.selectLazy;
      if (select !== lastSelect) {
        const sel = this.select(rule, src, select);
        if (sel === undefined) continue;
        lastSelect = select;
        lastSelected = sel;
      }
      this.runActions(rule, lastSelected!, src);
    }
    if (plan.runs[msg.qos] === undefined && rules.every((r, i) => r.sql.byTopic === undefined || verdicts[at + i] !== UNKNOWN)) {
      plan.runs[msg.qos] = rules.filter((r, i) => r.sql.byTopic === undefined || verdicts[at + i] === PASS);
    }
  }

  /** Adds the messages counted in bulk on plans to their rules' matched counts. */
  private flushMatched(): void {
    const plans = this.pendingPlans;
    for (let k = 0; k < plans.length; k++) {
      const plan = plans[k]!;
      for (const rule of plan.rules) rule.counters.matched += plan.pending;
      plan.pending = 0;
    }
    plans.length = 0;
  }

  /** Runs one rule for one event: SELECT and WHERE, then each action; nothing thrown escapes. */
  private apply(rule: RunningRule, src: Source): void {
    rule.counters.matched++;
    this.act(rule, src, rule.sql.runLazy);
  }

  /** The selection `select` makes (undefined: WHERE refused), then the rule's actions on it. */
  private act(rule: RunningRule, src: Source, select: (src: Source) => Selected | undefined): void {
    const selected = this.select(rule, src, select);
    if (selected !== undefined) this.runActions(rule, selected, src);
  }

  /** The selection `select` makes (undefined: WHERE refused or the SQL failed, logged). */
  private select(rule: RunningRule, src: Source, select: (src: Source) => Selected | undefined): Selected | undefined {
    try {
      return select(src);
    } catch (err) {
      this.host.log.debug({ rule: rule.id, err: (err as Error).message }, 'rule SQL failed');
      return undefined;
    }
  }

  /** The rule's actions on its selection (from the `from`-th), each counted; nothing thrown escapes. */
  private runActions(rule: RunningRule, selected: Selected, src: Source, from = 0): void {
    // what they do now is not what they did for the message onPublish saw last
    rule.lastPlan = undefined;
    if (rule.actions.length === 0) return;
    const envs = src.envs();
    rule.running = true;
    this.depth++;
    try {
      const actions = rule.actions;
      for (let i = from; i < actions.length; i++) runAction(actions[i]!, selected, envs, this.host.log);
    } finally {
      rule.running = false;
      this.depth--;
    }
  }
}

function runAction(a: BoundAction, selected: Selected, envs: Selected, log: Logger): void {
  const c = a.counters;
  try {
    const r = a.instance.run(selected, envs);
    if (r instanceof Promise) {
      r.then(
        () => void c.success++,
        (err: unknown) => {
          c.failed++;
          log.debug({ action: a.id, err: (err as Error).message }, 'action failed');
        },
      );
    } else c.success++;
  } catch (err) {
    c.failed++;
    log.debug({ action: a.id, err: (err as Error).message }, 'action failed');
  }
}
