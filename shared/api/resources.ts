/**
 * The rule engine's resources (GET/POST/DELETE /api/v4/resources[/{id}]) and resource types
 * (GET /api/v4/resource_types[/{name}]), as EMQX 4.x's emqx_rule_engine has them. A resource
 * is cluster configuration (config kind 'resources', shared/cluster/config-kinds.ts): every
 * node keeps an instance of each (node/rules/resources.ts) and answers its health per node.
 * The types are the nodes' (node/rules/resource-types/): the gateway asks a node for them.
 */
import { optional, type ParamShapes, type RpcOf } from './params-schema.js';

/** A resource as the store keeps it and EMQX exports it; `created_at` is epoch ms. */
export interface ResourceRecord {
  /** `resource:<random>`, as EMQX names them */
  id: string;
  /** its resource type's name: 'web_hook' */
  type: string;
  /** the type's params, checked and with their defaults filled */
  config: Record<string, unknown>;
  description: string;
  created_at: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The ResourceRecord in `v` (fields copied, config deep-copied, extras dropped), or undefined if it is not one. */
export function asResourceRecord(v: unknown): ResourceRecord | undefined {
  if (!isObject(v)) return undefined;
  if (typeof v.id !== 'string' || !v.id.startsWith('resource:') || typeof v.type !== 'string' || v.type === '' || !isObject(v.config)) return undefined;
  if (typeof v.description !== 'string' || typeof v.created_at !== 'number' || !Number.isFinite(v.created_at)) return undefined;
  return { id: v.id, type: v.type, config: structuredClone(v.config), description: v.description, created_at: v.created_at };
}

/** A resource type as GET /resource_types shows it (its params in EMQX's schema shape, node/rules/contracts.ts). */
export interface ResourceTypeRow {
  name: string;
  provider: string;
  title: { en: string; zh: string };
  description: { en: string; zh: string };
  params: Record<string, unknown>;
}

/** One resource's health on one node: `is_alive` from a real check of what it points at. */
export interface ResourceStatusRow {
  id: string;
  is_alive: boolean;
}

export const RESOURCES_PARAMS = {
  /** the resource types this node can instantiate */
  'resources.types': {},
  /** checks a config (JSON text: it nests objects) against a type's schema: the config with defaults filled, or 108 */
  'resources.check': { type: 'string', config: 'string' },
  /** this node's instances of every resource (or of `id`), each health-checked now */
  'resources.status': { id: optional('string') },
} as const satisfies ParamShapes;

export type ResourcesRpc = RpcOf<
  typeof RESOURCES_PARAMS,
  {
    'resources.types': ResourceTypeRow[];
    'resources.check': Record<string, unknown>;
    'resources.status': ResourceStatusRow[];
  }
>;
