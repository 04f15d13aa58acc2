import type { ActionInstance } from './contracts.js';
import type { CompiledSql } from './sql/compile.js';

/**
 * Whether a rule's run on a message may be repeated for the next message of the same
 * topic, QoS and publisher without running it: a run of one publisher's messages (a
 * socket read) then costs each such rule a check of what its actions did, not a selection
 * and the actions' templates (a republish to a topic nobody subscribes to: counted again).
 *
 * It may when its WHERE is judged per topic and QoS (CompiledSql.byTopic), its SELECT
 * only copies columns, and each action reads (ActionInstance.reads) only columns that are
 * the same for every message of one topic, QoS and publisher, and can repeat (again()).
 */
const KEY_COLUMNS: ReadonlySet<string> = new Set(['clientid', 'topic', 'qos', 'node', 'event']);

export function repeatable(sql: CompiledSql, actions: readonly { instance: ActionInstance }[]): boolean {
  const copies = sql.copies;
  if (sql.byTopic === undefined || copies === undefined || actions.length === 0) return false;
  // a path is looked up in the selected data, then in the event's columns: both must be key columns
  const keyPath = (p: readonly string[]): boolean => p.length === 1 && KEY_COLUMNS.has(p[0]!) && (!copies.has(p[0]!) || KEY_COLUMNS.has(copies.get(p[0]!)!));
  return actions.every(({ instance: a }) => a.again !== undefined && a.reads !== undefined && a.reads.every(keyPath));
}

/** Repeats the actions' last outcomes, each counted a success: how many did, from the first (the rest must run). */
export function repeatActions(actions: readonly { instance: ActionInstance; counters: { success: number } }[]): number {
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i]!;
    if (!a.instance.again!()) return i;
    a.counters.success++;
  }
  return actions.length;
}
