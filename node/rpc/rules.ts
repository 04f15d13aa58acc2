import type { RULES_PARAMS } from '../../shared/api/rules.js';
import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import { testSql } from '../rules/test-sql.js';

/** The rule engine on this node (GET/POST/PUT /api/v4/rules, GET /actions): its counters, a rule's check, its action types, a rule's SQL tried on a sample. */
export function rulesHandlers(b: Broker): Pick<RpcHandlers, keyof typeof RULES_PARAMS> {
  return {
    'rules.metrics': () => b.rules.metrics(),
    'rules.check': ({ rawsql, actions }) => {
      const text = String(actions);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return { ok: false, message: 'actions must be JSON' };
      }
      return b.rules.check(String(rawsql), parsed);
    },
    'rules.actions': () => b.rules.actionRows(),
    'rules.test': ({ rawsql, ctx }) => {
      let sample: unknown;
      try {
        sample = JSON.parse(String(ctx));
      } catch {
        return { ok: false, nomatch: false, message: 'ctx must be JSON' };
      }
      return testSql(String(rawsql), sample, b.nodeName);
    },
  };
}
