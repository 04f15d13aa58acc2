/**
 * The RPC contract between the gateway and the nodes, and between nodes: every method a
 * node answers, with its parameters and its reply, assembled from the resources' own files
 * (shared/api/<resource>.ts: rows, query schema, parameter shapes and replies). Those files
 * and this one are the only places where the two sides agree on a shape.
 */
import { ACL_CACHE_PARAMS, type AclCacheRpc } from './api/acl-cache.js';
import { ALARMS_PARAMS, type AlarmsRpc } from './api/alarms.js';
import { BROKERS_PARAMS, type BrokersRpc } from './api/brokers.js';
import { CLIENTS_PARAMS, type ClientsRpc } from './api/clients.js';
import { CONFIGS_PARAMS, type ConfigsRpc } from './api/configs.js';
import { LISTENERS_PARAMS, type ListenersRpc } from './api/listeners.js';
import { METRICS_PARAMS, type MetricsRpc } from './api/metrics.js';
import { MODULES_PARAMS, type ModulesRpc } from './api/modules.js';
import { MQTT_PARAMS, type MqttRpc } from './api/mqtt.js';
import { NODES_PARAMS, type NodesRpc } from './api/nodes.js';
import type { Shape } from './api/params-schema.js';
import { PLUGINS_PARAMS, type PluginsRpc } from './api/plugins.js';
import { RESOURCES_PARAMS, type ResourcesRpc } from './api/resources.js';
import { RULES_PARAMS, type RulesRpc } from './api/rules.js';
import { ROUTES_PARAMS, type RoutesRpc } from './api/routes.js';
import { SESSION_PARAMS, type SessionRpc } from './api/session.js';
import { STATS_PARAMS, type StatsRpc } from './api/stats.js';
import { SUBSCRIPTIONS_PARAMS, type SubscriptionsRpc } from './api/subscriptions.js';
import { TELEMETRY_PARAMS, type TelemetryRpc } from './api/telemetry.js';
import { TOPIC_METRICS_PARAMS, type TopicMetricsRpc } from './api/topic-metrics.js';

/** Every RPC method: name → [params, reply]. */
export interface RpcMethods
  extends BrokersRpc,
    NodesRpc,
    ClientsRpc,
    AclCacheRpc,
    SubscriptionsRpc,
    RoutesRpc,
    MqttRpc,
    MetricsRpc,
    StatsRpc,
    ListenersRpc,
    SessionRpc,
    PluginsRpc,
    ModulesRpc,
    AlarmsRpc,
    TopicMetricsRpc,
    ResourcesRpc,
    TelemetryRpc,
    RulesRpc,
    ConfigsRpc {}

/** Every method's parameter shape, which a node checks a request against (a method without one fails the build). */
export const RPC_PARAMS: { readonly [M in RpcMethod]: Shape } = {
  ...BROKERS_PARAMS,
  ...NODES_PARAMS,
  ...CLIENTS_PARAMS,
  ...ACL_CACHE_PARAMS,
  ...SUBSCRIPTIONS_PARAMS,
  ...ROUTES_PARAMS,
  ...MQTT_PARAMS,
  ...METRICS_PARAMS,
  ...STATS_PARAMS,
  ...LISTENERS_PARAMS,
  ...ALARMS_PARAMS,
  ...SESSION_PARAMS,
  ...PLUGINS_PARAMS,
  ...MODULES_PARAMS,
  ...TOPIC_METRICS_PARAMS,
  ...RESOURCES_PARAMS,
  ...TELEMETRY_PARAMS,
  ...RULES_PARAMS,
  ...CONFIGS_PARAMS,
};

export type RpcMethod = keyof RpcMethods;
export type RpcParams<M extends RpcMethod> = RpcMethods[M][0];
export type RpcReply<M extends RpcMethod> = RpcMethods[M][1];

/** The wire shape of a reply: data or an error with an EMQX result code. */
export type RpcResult<T = unknown> = { ok: true; data: T } | { ok: false; code: number; message: string };

/** A failed RPC: `code` is the EMQX result code (101 for an RPC failure or timeout). */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly node?: string,
  ) {
    super(message);
  }
}

/** How a node answers: one function per method, all of them. */
export type RpcHandlers = { [M in RpcMethod]: (params: RpcParams<M>) => RpcReply<M> | Promise<RpcReply<M>> };
