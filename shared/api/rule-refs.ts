/**
 * PROVISIONAL (reconciled with the rule engine's own record at merge): the little of a rule
 * record that resources and data export/import need, as EMQX keeps rules: an id and
 * `actions: [{name, params: {$resource: "<id>", ...}}]`. The record is kept whole (every
 * field the engine stores goes through unchanged); only those two fields are checked.
 */

export type RuleRecord = { id: string; actions: { name: string; params: Record<string, unknown> }[] } & Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The rule record in `v` (deep-copied), or undefined if it lacks a string id or well-formed actions. */
export function asRuleRecord(v: unknown): RuleRecord | undefined {
  if (!isObject(v) || typeof v.id !== 'string' || v.id === '' || !Array.isArray(v.actions)) return undefined;
  if (!v.actions.every((a) => isObject(a) && typeof a.name === 'string' && isObject(a.params))) return undefined;
  return structuredClone(v) as RuleRecord;
}

/** The ids of the resources a rule's actions are bound to. */
export function resourcesOf(rule: RuleRecord): string[] {
  return rule.actions.map((a) => a.params.$resource).filter((r): r is string => typeof r === 'string');
}
