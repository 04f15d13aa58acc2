import type { RuleCheck } from '../../shared/api/rules.js';
import type { ActionHost, ActionInstance, ActionType } from './contracts.js';
import type { Registry } from './actions/registry.js';
import { compileSql } from './sql/compile.js';

/** A rule's actions as the API gives them: [{name, params}], `id` when stored. */
interface ActionSpec {
  id?: string;
  name: string;
  params: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function actionSpecs(v: unknown): ActionSpec[] {
  if (!Array.isArray(v)) throw new Error('actions must be a list');
  return v.map((a, i) => {
    if (!isObject(a) || typeof a.name !== 'string') throw new Error(`actions[${i}]: name is required`);
    if (a.params !== undefined && !isObject(a.params)) throw new Error(`actions[${i}]: params must be an object`);
    return { id: typeof a.id === 'string' ? a.id : undefined, name: a.name, params: (a.params as Record<string, unknown> | undefined) ?? {} };
  });
}

/** Instantiates each action; throws (closing those made) for an unknown name or params its type refuses. */
export function bindActions(actions: unknown, registry: Registry<ActionType>, host: ActionHost): { id: string; instance: ActionInstance }[] {
  const out: { id: string; instance: ActionInstance }[] = [];
  try {
    for (const a of actionSpecs(actions)) {
      const type = registry.get(a.name);
      if (type === undefined) throw new Error(`action ${JSON.stringify(a.name)} not found`);
      out.push({ id: a.id ?? '', instance: type.create(a.params, host) });
    }
  } catch (err) {
    for (const b of out) b.instance.close?.();
    throw err;
  }
  return out;
}

/** Whether a rule's SQL parses and its actions bind (they are closed again): its `for`, or why not. */
export function checkRule(rawsql: string, actions: unknown, registry: Registry<ActionType>, host: ActionHost): RuleCheck {
  let from: string[];
  try {
    from = compileSql(rawsql).from;
  } catch (err) {
    return { ok: false, message: `bad SQL: ${(err as Error).message}` };
  }
  try {
    for (const b of bindActions(actions, registry, host)) b.instance.close?.();
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  return { ok: true, for: from };
}
