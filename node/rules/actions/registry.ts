import type { ActionRow } from '../../../shared/api/rules.js';
import type { ActionType } from '../contracts.js';
import { doNothingAction, inspectAction, republishAction } from './builtin.js';
import { dataToWebserverAction } from './data-to-webserver.js';

/**
 * The action types a node offers (EMQX: only the broker provides them,
 * they cannot be added through the API). register() adds one; the rule engine looks an
 * action up by name when it binds a rule.
 */
export class Registry<T extends { name: string }> {
  private readonly byName = new Map<string, T>();

  register(...items: T[]): void {
    for (const t of items) {
      if (this.byName.has(t.name)) throw new Error(`${t.name} is registered already`);
      this.byName.set(t.name, t);
    }
  }

  get(name: string): T | undefined {
    return this.byName.get(name);
  }

  list(): T[] {
    return [...this.byName.values()];
  }
}

/** A node's action types: the rule engine's own, and those of the resource providers. */
export function actionRegistry(): Registry<ActionType> {
  const r = new Registry<ActionType>();
  // data_to_webserver is emqx_web_hook's, through a web_hook resource (node/rules/resources.ts keeps the resource types)
  r.register(inspectAction, doNothingAction, republishAction, dataToWebserverAction);
  return r;
}

/** An action type as GET /api/v4/actions shows it. */
export function actionRow(a: ActionType): ActionRow {
  return { name: a.name, for: a.for, app: a.app, types: [...a.types], title: a.title, description: a.description, params: structuredClone(a.params) as Record<string, unknown> };
}
