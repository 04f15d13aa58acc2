/**
 * The rules resource (GET/POST /api/v4/rules, GET/PUT/DELETE /rules/{id}) and the actions
 * resource (GET /api/v4/actions[/{name}]), EMQX 4.x's emqx_rule_engine_api. Rules are
 * cluster configuration (config kind 'rules', shared/cluster/config-kinds.ts): written by
 * the gateway, run by every node on its own traffic (node/rules/engine.ts); each node
 * counts its own metrics and the gateway lists them per node.
 */
import type { ParamShapes, RpcOf } from './params-schema.js';

/** One action of a rule: its type's name, its params as given, and its id (`<name>_<digits>`, as EMQX's). */
export interface RuleAction {
  id: string;
  name: string;
  params: Record<string, unknown>;
}

/** A rule as the store keeps it; `for` is derived from the FROM clause; `created_at` is epoch ms. */
export interface RuleRecord {
  id: string;
  rawsql: string;
  for: string[];
  actions: RuleAction[];
  description: string;
  enabled: boolean;
  created_at: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function asRuleAction(v: unknown): RuleAction | undefined {
  if (!isObject(v) || typeof v.id !== 'string' || typeof v.name !== 'string' || !isObject(v.params)) return undefined;
  return { id: v.id, name: v.name, params: structuredClone(v.params) };
}

/** The RuleRecord in `v` (fields copied, extras dropped), or undefined if it is not one. */
export function asRuleRecord(v: unknown): RuleRecord | undefined {
  if (!isObject(v)) return undefined;
  if (typeof v.id !== 'string' || typeof v.rawsql !== 'string' || typeof v.description !== 'string' || typeof v.enabled !== 'boolean') return undefined;
  if (typeof v.created_at !== 'number' || !Number.isFinite(v.created_at)) return undefined;
  if (!Array.isArray(v.for) || !v.for.every((t) => typeof t === 'string')) return undefined;
  if (!Array.isArray(v.actions)) return undefined;
  const actions = v.actions.map(asRuleAction);
  if (actions.some((a) => a === undefined)) return undefined;
  return { id: v.id, rawsql: v.rawsql, for: [...(v.for as string[])], actions: actions as RuleAction[], description: v.description, enabled: v.enabled, created_at: v.created_at };
}

/** A rule's counters on one node, as the spec's example shows them (speeds in messages per second). */
export interface RuleMetrics {
  matched: number;
  speed: number;
  speed_max: number;
  speed_last5m: number;
}

/** An action's counters on one node. */
export interface ActionMetrics {
  success: number;
  failed: number;
}

/** A node's counters: rules by id, actions by action id (zero for one it has not run). */
export interface RulesNodeMetrics {
  rules: Record<string, RuleMetrics>;
  actions: Record<string, ActionMetrics>;
}

/** An action type as GET /api/v4/actions shows it. */
export interface ActionRow {
  name: string;
  for: string;
  app: string;
  types: string[];
  title: { en: string; zh: string };
  description: { en: string; zh: string };
  params: Record<string, unknown>;
}

/** What a node says of a rule's SQL and actions before it is stored. */
export type RuleCheck = { ok: true; for: string[] } | { ok: false; message: string };

/** A rule's SQL run once on a sample event (POST /rules?test=true): the selected columns, or why none. */
export type RuleTest = { ok: true; data: Record<string, unknown> } | { ok: false; nomatch: boolean; message: string };

export const RULES_PARAMS = {
  /** this node's rule and action counters */
  'rules.metrics': {},
  /** parses `rawsql` and checks `actions` (JSON: [{name, params}]) against this node's action types */
  'rules.check': { rawsql: 'text', actions: 'text' },
  /** the action types this node offers */
  'rules.actions': {},
  /** runs `rawsql` once on the sample event `ctx` (JSON of its columns); no action runs */
  'rules.test': { rawsql: 'text', ctx: 'text' },
} as const satisfies ParamShapes;

export type RulesRpc = RpcOf<
  typeof RULES_PARAMS,
  {
    'rules.metrics': RulesNodeMetrics;
    'rules.check': RuleCheck;
    'rules.actions': ActionRow[];
    'rules.test': RuleTest;
  }
>;

/** The ids of the resources a rule's actions are bound to (`params.$resource`, as EMQX keeps them). */
export function resourcesOf(rule: RuleRecord): string[] {
  return rule.actions.map((a) => a.params.$resource).filter((r): r is string => typeof r === 'string');
}
