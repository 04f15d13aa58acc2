import { randomBytes } from 'node:crypto';
import type { ResourceRecord, ResourceStatusRow } from '../../../shared/api/resources.js';
import { resourcesOf } from '../../../shared/api/rules.js';
import { CODE } from '../../../shared/result-codes.js';
import type { ApiContext, Resource } from '../endpoint.js';
import { ApiError, notFound } from '../errors.js';
import { bodySchema } from '../schema.js';
import { stored } from '../stored.js';
import { anyNode } from './resource-types.js';

/**
 * GET/POST/DELETE /resources[/{id}], EMQX's emqx_rule_engine_api. A resource
 * is cluster config (kind 'resources'), its config checked by a node against its type's
 * schema (108 naming the fault) before it is stored; every node then instantiates it, and
 * `status` is each node's health check of it. A resource a rule's action is bound to is
 * not deleted (102, naming the rules): the rule would be left pointing at nothing.
 */

interface CreateBody {
  type: string;
  config: Record<string, unknown>;
  description?: string;
  id?: string;
}

const createBody = bodySchema<CreateBody>({
  type: 'object',
  required: ['type', 'config'],
  properties: {
    type: { type: 'string', minLength: 1 },
    config: { type: 'object' },
    description: { type: 'string' },
    id: { type: 'string', pattern: '^resource:[A-Za-z0-9_.-]{1,64}$' },
  },
});

/** A type's config checked by a node: defaults filled, or the node's 108. */
export async function checkedConfig(ctx: ApiContext, type: string, config: unknown): Promise<Record<string, unknown>> {
  return ctx.cluster.call(await anyNode(ctx), 'resources.check', { type, config: JSON.stringify(config) });
}

/** The `status` of each resource: every live node's health check of it, in node order. */
async function statuses(ctx: ApiContext, id?: string): Promise<Map<string, { node: string; is_alive: boolean }[]>> {
  const answers = await ctx.cluster.all('resources.status', id === undefined ? {} : { id });
  const out = new Map<string, { node: string; is_alive: boolean }[]>();
  for (const { node, data } of answers) {
    for (const row of data as ResourceStatusRow[]) {
      const list = out.get(row.id) ?? [];
      list.push({ node, is_alive: row.is_alive });
      out.set(row.id, list);
    }
  }
  return out;
}

function withStatus(r: ResourceRecord, nodes: readonly string[], st: Map<string, { node: string; is_alive: boolean }[]>) {
  const known = st.get(r.id) ?? [];
  // a node that has not loaded the resource yet has no instance of it: not alive there
  const status = nodes.map((node) => known.find((s) => s.node === node) ?? { node, is_alive: false });
  return { id: r.id, type: r.type, config: r.config, status, description: r.description };
}

const records = (ctx: ApiContext): Promise<ResourceRecord[]> => stored('resources', () => ctx.store.configList('resources'));

export const resources: Resource = [
  {
    method: 'GET',
    path: '/resources',
    name: 'list_resources',
    descr: 'List all resources',
    handle: async (ctx) => {
      const [all, nodes, st] = await Promise.all([records(ctx), ctx.cluster.nodes(), statuses(ctx)]);
      return { data: all.map((r) => withStatus(r, nodes, st)) };
    },
  },
  {
    method: 'GET',
    path: '/resources/:resource_id',
    name: 'show_resource',
    descr: 'Show a resource',
    handle: async (ctx) => {
      const id = ctx.params.resource_id!;
      const r = (await records(ctx)).find((x) => x.id === id);
      if (!r) throw notFound(`resource ${id}`);
      const [nodes, st] = await Promise.all([ctx.cluster.nodes(), statuses(ctx, id)]);
      return { data: withStatus(r, nodes, st) };
    },
  },
  {
    method: 'POST',
    path: '/resources',
    name: 'create_resource',
    descr: 'Create a resource',
    handle: async (ctx) => {
      const b = createBody(ctx.body);
      const config = await checkedConfig(ctx, b.type, b.config);
      const r: ResourceRecord = {
        id: b.id ?? `resource:${randomBytes(4).toString('hex')}`,
        type: b.type,
        config,
        description: b.description ?? '',
        created_at: Date.now(),
      };
      if (!(await stored('resources', () => ctx.store.configPut('resources', r, 'create')))) throw new ApiError(400, CODE.EXISTS, `resource ${r.id} already exists`);
      return { data: { type: r.type, id: r.id, description: r.description, config: r.config } };
    },
  },
  {
    method: 'DELETE',
    path: '/resources/:resource_id',
    name: 'delete_resource',
    descr: 'Delete a resource',
    handle: async (ctx) => {
      const id = ctx.params.resource_id!;
      if (!(await records(ctx)).some((r) => r.id === id)) throw notFound(`resource ${id}`);
      const users = (await stored('rules', () => ctx.store.configList('rules'))).filter((rule) => resourcesOf(rule).includes(id)).map((rule) => rule.id);
      if (users.length > 0) throw new ApiError(400, CODE.UNKNOWN, `resource ${id} is used by rules ${users.join(', ')}: delete or change them first`);
      await stored('resources', () => ctx.store.configDelete('resources', id));
      return {};
    },
  },
];
