/**
 * What the rule engine (node/rules/) and its actions and resources agree on, as EMQX 4.x's
 * emqx_rule_engine has them: an action type (inspect, republish, data_to_webserver, ...) is
 * declared once with its parameter schema as GET /api/v4/actions shows it, and instantiated
 * per rule; a resource type (web_hook, ...) likewise, instantiated per resource on every node.
 */
import type { Logger } from '../../shared/logger.js';
import type { Message } from '../../shared/message.js';
import type { RouteMemo } from '../router/trie.js';

/** Bilingual text, as EMQX's actions and resource types carry it. */
export interface I18n {
  en: string;
  zh: string;
}

/** One parameter of an action or resource type, in EMQX's schema shape. */
export interface ParamSpec {
  type: 'string' | 'number' | 'boolean' | 'object' | 'array' | 'file' | 'cfgselect';
  required?: boolean;
  default?: unknown;
  enum?: readonly unknown[];
  title: I18n;
  description: I18n;
  /** for 'object' parameters: the schema of its keys, when fixed */
  schema?: Record<string, ParamSpec>;
}

export type ParamsSchema = Record<string, ParamSpec>;

/** The columns a rule's SELECT produced for one event, and the event's own fields. */
export type Selected = Record<string, unknown>;

/** What a running action may do on its node. */
export interface ActionHost {
  readonly nodeName: string;
  /** publishes as the broker does for an API publish (republish) */
  publish(msg: Message): void;
  /**
   * true (and counted as published and dropped) when a message on the topic would reach and
   * be seen by no one: nothing to publish; `memo` keeps the answer for a caller asking again
   */
  dropIfUnrouted(topic: string, retain: boolean, memo?: RouteMemo): boolean;
  /** the instance of a resource on this node, while it exists */
  resource(id: string): ResourceInstance | undefined;
  readonly log: Logger;
}

/** An action bound to one rule: its params checked, its resource resolved. */
export interface ActionInstance {
  /**
   * runs for one event; a throw or a rejection counts as the action's failure. `selected`
   * and `envs` are read only: rules selecting the same columns get one record per event.
   */
  run(selected: Selected, envs: Selected): void | Promise<void>;
  close?(): void;
  /**
   * Set by an action whose run depends on nothing of its event but the values at these
   * `${path}` paths (looked up as its templates do: the selected data, then the event) and
   * may be repeated without running: again().
   */
  reads?: readonly (readonly string[])[];
  /**
   * Repeats the outcome of the last run for an event whose values at `reads` are the same
   * (the engine knows when): true when it did (and what it does is done, counted as a
   * success); false when it cannot, and the action must run.
   */
  again?(): boolean;
}

export interface ActionType {
  /** 'inspect', 'do_nothing', 'republish', 'data_to_webserver' */
  name: string;
  /** EMQX's `for`: '$any', '$message', '$events' or event topics */
  for: string;
  /** the app that provides it, as EMQX lists it: 'emqx_rule_engine', 'emqx_web_hook' */
  app: string;
  /** resource types it needs ([] for none) */
  types: readonly string[];
  title: I18n;
  description: I18n;
  params: ParamsSchema;
  /** throws (a message for the API) when params or the resource are not right */
  create(params: Record<string, unknown>, host: ActionHost): ActionInstance;
}

/** A resource on one node (an HTTP server pool for web_hook). */
export interface ResourceInstance {
  /** a real check of what it points at */
  healthCheck(): Promise<boolean>;
  close(): void | Promise<void>;
}

export interface ResourceType {
  /** 'web_hook' */
  name: string;
  /** the app that provides it, as EMQX lists it */
  provider: string;
  title: I18n;
  description: I18n;
  params: ParamsSchema;
  /** throws (a message for the API) when the config is not right */
  create(config: Record<string, unknown>, log: Logger): ResourceInstance;
}
