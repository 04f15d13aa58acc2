import { randomBytes } from 'node:crypto';
import { parseBool } from '../../../shared/api/query-schema.js';
import type { RuleAction, RuleRecord, RulesNodeMetrics } from '../../../shared/api/rules.js';
import { CODE } from '../../../shared/result-codes.js';
import { topicMatches } from '../../../shared/topic.js';
import type { ApiContext, Resource } from '../endpoint.js';
import { ApiError, notFound } from '../errors.js';
import { meta, paging } from '../params.js';
import { bodySchema } from '../schema.js';
import { stored } from '../stored.js';
import { anyNode } from './actions.js';

/**
 * GET/POST /rules, GET/PUT/DELETE /rules/{id}: EMQX's emqx_rule_engine_api. Rules are
 * cluster config (kind 'rules'), written here once a node has parsed the SQL and bound the
 * actions (it knows the action types); every node runs them and counts its own metrics,
 * listed per node. Errors: bad SQL, an unknown action or params it refuses 108 with the
 * reason (and the SQL's line and column); an unknown rule 404.
 */

interface RuleBody {
  rawsql?: string;
  actions?: { name: string; params?: Record<string, unknown> }[];
  description?: string;
  enabled?: boolean;
}

const ACTIONS = {
  type: 'array',
  items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, params: { type: 'object' } } },
};
const FIELDS = { rawsql: { type: 'string' }, actions: ACTIONS, description: { type: 'string' }, enabled: { type: 'boolean' } };
const createBody = bodySchema<Required<Pick<RuleBody, 'rawsql' | 'actions'>> & RuleBody>({ type: 'object', required: ['rawsql', 'actions'], properties: FIELDS });
const updateBody = bodySchema<RuleBody>({ type: 'object', properties: FIELDS });

/** EMQX's ids: `rule:<8 hex>` and `<action>_<digits>`. */
const ruleId = (): string => `rule:${randomBytes(4).toString('hex')}`;
const actionId = (name: string): string => `${name}_${Date.now()}${String(randomBytes(3).readUIntBE(0, 3)).padStart(8, '0')}`;

/** Asks a node to parse the SQL and bind the actions: the rule's `for`, or 108 with why not. */
async function check(ctx: ApiContext, rawsql: string, actions: unknown[]): Promise<string[]> {
  const r = await ctx.cluster.one(await anyNode(ctx), 'rules.check', { rawsql, actions: JSON.stringify(actions) });
  if (!r.ok) throw new ApiError(400, CODE.BAD_PARAM, r.message);
  return r.for;
}

const testBody = bodySchema<{ rawsql: string; ctx?: Record<string, unknown> }>({ type: 'object', required: ['rawsql'], properties: { rawsql: { type: 'string' }, ctx: { type: 'object' } } });

/**
 * POST /rules?test=true (EMQX's test_rule_sql): a node runs the SQL once on the sample
 * event `ctx`, no action runs, nothing is stored. The selected columns; EMQX's code 404
 * "SQL Not Match" (HTTP 200) when WHERE refuses it; 108 for bad SQL or a failed evaluation.
 */
async function testRule(ctx: ApiContext): Promise<{ data: unknown }> {
  const b = testBody(ctx.body);
  const r = await ctx.cluster.one(await anyNode(ctx), 'rules.test', { rawsql: b.rawsql, ctx: JSON.stringify(b.ctx ?? {}) });
  if (r.ok) return { data: r.data };
  if (r.nomatch) throw new ApiError(200, CODE.NOT_FOUND, r.message);
  throw new ApiError(400, CODE.BAD_PARAM, r.message);
}

const withIds = (actions: { name: string; params?: Record<string, unknown> }[]): RuleAction[] => actions.map((a) => ({ id: actionId(a.name), name: a.name, params: a.params ?? {} }));

const list = (ctx: ApiContext): Promise<RuleRecord[]> => stored('rules', () => ctx.store.configList('rules'));

async function find(ctx: ApiContext, id: string): Promise<RuleRecord> {
  const r = (await list(ctx)).find((x) => x.id === id);
  if (r === undefined) throw notFound(`rule ${id}`);
  return r;
}

const metricsOf = async (ctx: ApiContext): Promise<{ node: string; data: RulesNodeMetrics }[]> => ctx.cluster.all('rules.metrics', {});

/** A rule as the API shows it, with each node's counters of it and of its actions. */
function view(r: RuleRecord, perNode: { node: string; data: RulesNodeMetrics }[]): Record<string, unknown> {
  return {
    rawsql: r.rawsql,
    metrics: perNode.map(({ node, data }) => {
      const m = data.rules[r.id] ?? { matched: 0, speed: 0, speed_max: 0, speed_last5m: 0 };
      return { speed_max: m.speed_max, speed_last5m: m.speed_last5m, speed: m.speed, node, matched: m.matched };
    }),
    id: r.id,
    for: r.for,
    enabled: r.enabled,
    description: r.description,
    created_at: r.created_at,
    actions: r.actions.map((a) => ({
      params: a.params,
      name: a.name,
      metrics: perNode.map(({ node, data }) => {
        const m = data.actions[a.id] ?? { success: 0, failed: 0 };
        return { success: m.success, node, failed: m.failed };
      }),
      id: a.id,
    })),
  };
}

/** The listing's filters (EMQX's rule query): each one given narrows the list. */
function filtered(rules: RuleRecord[], q: Record<string, string>): RuleRecord[] {
  const enabled = q.enabled === undefined ? undefined : parseBool('enabled', q.enabled);
  return rules.filter(
    (r) =>
      (enabled === undefined || r.enabled === enabled) &&
      (q.for === undefined || r.for.includes(q.for)) &&
      (q._like_id === undefined || r.id.includes(q._like_id)) &&
      (q._like_for === undefined || r.for.some((t) => t.includes(q._like_for!))) &&
      (q._match_for === undefined || r.for.some((t) => t === q._match_for || topicMatches(q._match_for!, t))) &&
      (q._like_description === undefined || r.description.includes(q._like_description)),
  );
}

export const rules: Resource = [
  {
    method: 'GET',
    path: '/rules',
    name: 'list_rules',
    descr: 'List rules',
    handle: async (ctx) => {
      const all = filtered(await list(ctx), ctx.query);
      const perNode = await metricsOf(ctx);
      if (ctx.query.enable_paging === undefined || !parseBool('enable_paging', ctx.query.enable_paging)) return { data: all.map((r) => view(r, perNode)) };
      const { page, limit } = paging(ctx.query);
      const rows = all.slice((page - 1) * limit, page * limit).map((r) => view(r, perNode));
      return { data: rows, meta: meta(page, limit, all.length, false) };
    },
  },
  {
    method: 'GET',
    path: '/rules/:rule_id',
    name: 'show_rule',
    descr: 'Show a rule',
    handle: async (ctx) => ({ data: view(await find(ctx, ctx.params.rule_id!), await metricsOf(ctx)) }),
  },
  {
    method: 'POST',
    path: '/rules',
    name: 'create_rule',
    descr: 'Create a rule',
    handle: async (ctx) => {
      if (ctx.query.test !== undefined && parseBool('test', ctx.query.test)) return testRule(ctx);
      const b = createBody(ctx.body);
      const from = await check(ctx, b.rawsql, b.actions);
      const rec: RuleRecord = { id: ruleId(), rawsql: b.rawsql, for: from, actions: withIds(b.actions), description: b.description ?? '', enabled: b.enabled ?? true, created_at: Date.now() };
      if (!(await stored('rules', () => ctx.store.configPut('rules', rec, 'create')))) throw new ApiError(400, CODE.EXISTS, `rule ${rec.id} exists`);
      return { data: view(rec, await metricsOf(ctx)) };
    },
  },
  {
    method: 'PUT',
    path: '/rules/:rule_id',
    name: 'update_rule',
    descr: 'Update a rule',
    handle: async (ctx) => {
      const b = updateBody(ctx.body);
      const old = await find(ctx, ctx.params.rule_id!);
      const rec: RuleRecord = { ...old };
      if (b.rawsql !== undefined || b.actions !== undefined) {
        rec.for = await check(ctx, b.rawsql ?? old.rawsql, b.actions ?? old.actions);
        if (b.rawsql !== undefined) rec.rawsql = b.rawsql;
        if (b.actions !== undefined) rec.actions = withIds(b.actions);
      }
      if (b.description !== undefined) rec.description = b.description;
      if (b.enabled !== undefined) rec.enabled = b.enabled;
      if (!(await stored('rules', () => ctx.store.configPut('rules', rec, 'update')))) throw notFound(`rule ${rec.id}`);
      return { data: view(rec, await metricsOf(ctx)) };
    },
  },
  {
    method: 'DELETE',
    path: '/rules/:rule_id',
    name: 'delete_rule',
    descr: 'Delete a rule',
    handle: async (ctx) => {
      if (!(await stored('rules', () => ctx.store.configDelete('rules', ctx.params.rule_id!)))) throw notFound(`rule ${ctx.params.rule_id}`);
      return {};
    },
  },
];
