import { ConfigError, type Config } from '../../../shared/config.js';
import { validTopicFilter } from '../../../shared/topic.js';
import type { HookName } from '../../core/hooks.js';
import { jsonList } from '../json-setting.js';

/**
 * The events the web hook can send: EMQX's web hook rule names (web.hook.rule.<event>),
 * each with the only action EMQX accepts for it. `message.dropped` is this node's addition
 * (EMQX 4.x sends it from the rule engine only).
 */
export const WEB_HOOK_EVENTS = {
  'client.connect': 'on_client_connect',
  'client.connack': 'on_client_connack',
  'client.connected': 'on_client_connected',
  'client.disconnected': 'on_client_disconnected',
  'client.subscribe': 'on_client_subscribe',
  'client.unsubscribe': 'on_client_unsubscribe',
  'session.subscribed': 'on_session_subscribed',
  'session.unsubscribed': 'on_session_unsubscribed',
  'session.terminated': 'on_session_terminated',
  'message.publish': 'on_message_publish',
  'message.delivered': 'on_message_delivered',
  'message.acked': 'on_message_acked',
  'message.dropped': 'on_message_dropped',
} as const satisfies Partial<Record<HookName, string>>;

export type WebHookEvent = keyof typeof WEB_HOOK_EVENTS;

/** Events whose rules may carry a topic filter (EMQX filters these by topic). */
const FILTERED: ReadonlySet<WebHookEvent> = new Set(['client.subscribe', 'client.unsubscribe', 'session.subscribed', 'session.unsubscribed', 'message.publish', 'message.delivered', 'message.acked', 'message.dropped']);

export interface WebHookRule {
  event: WebHookEvent;
  action: string;
  /** only events on topics matching it; undefined: all */
  topic: string | undefined;
}

export interface WebHookSettings {
  url: URL;
  headers: Record<string, string>;
  encoding: 'plain' | 'base64';
  rules: WebHookRule[];
  poolSize: number;
  timeoutMs: number;
  maxQueue: number;
}

/**
 * Parses STARLING_WEB_HOOK_RULES: a JSON array of {"event", "action", "topic"} (EMQX's
 * `web.hook.rule.<event>.<n> = {"action": ..., "topic": ...}` as one list). `action` may be
 * left out; given, it must be the event's EMQX action. Unset: every event, unfiltered.
 */
export function parseWebHookRules(raw: string | undefined): WebHookRule[] {
  if (raw === undefined) return (Object.entries(WEB_HOOK_EVENTS) as [WebHookEvent, string][]).map(([event, action]) => ({ event, action, topic: undefined }));
  return jsonList(raw, 'webHookRules (STARLING_WEB_HOOK_RULES)', '{"event","action","topic"}').map((o, i) => {
    const at = `webHookRules[${i}]`;
    const event = o.event as string;
    if (!(event in WEB_HOOK_EVENTS)) throw new ConfigError(`${at}.event ${JSON.stringify(o.event)} is not an event; one of ${Object.keys(WEB_HOOK_EVENTS).join(', ')}`);
    const action = WEB_HOOK_EVENTS[event as WebHookEvent];
    if (o.action !== undefined && o.action !== action) throw new ConfigError(`${at}.action for ${event} must be "${action}", got ${JSON.stringify(o.action)}`);
    if (o.topic !== undefined) {
      if (!FILTERED.has(event as WebHookEvent)) throw new ConfigError(`${at}.topic: ${event} events have no topic`);
      if (typeof o.topic !== 'string' || !validTopicFilter(o.topic)) throw new ConfigError(`${at}.topic must be a valid topic filter, got ${JSON.stringify(o.topic)}`);
    }
    return { event: event as WebHookEvent, action, topic: o.topic as string | undefined };
  });
}

function parseHeaders(raw: string | undefined): Record<string, string> {
  if (raw === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`webHookHeaders (STARLING_WEB_HOOK_HEADERS) is not JSON: ${(err as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new ConfigError('webHookHeaders (STARLING_WEB_HOOK_HEADERS) must be a JSON object of strings, e.g. {"authorization":"Bearer x"}');
  }
  return v as Record<string, string>;
}

/** Everything but the URL, checked: what a node checks at start (main.ts), loaded or not. */
export function checkWebHookConfig(cfg: Config): void {
  parseWebHookRules(cfg.webHookRules);
  parseHeaders(cfg.webHookHeaders);
  if (cfg.webHookPoolSize < 1) throw new ConfigError(`webHookPoolSize (STARLING_WEB_HOOK_POOL_SIZE) must be at least 1, got ${cfg.webHookPoolSize}`);
  if (cfg.webHookTimeoutMs < 1) throw new ConfigError(`webHookTimeoutMs (STARLING_WEB_HOOK_TIMEOUT_MS) must be at least 1, got ${cfg.webHookTimeoutMs}`);
  if (cfg.webHookMaxQueue < 0) throw new ConfigError(`webHookMaxQueue (STARLING_WEB_HOOK_MAX_QUEUE) must not be negative, got ${cfg.webHookMaxQueue}`);
}

/** The settings to load with; throws (the API shows the message) without a usable URL. */
export function webHookSettings(cfg: Config): WebHookSettings {
  checkWebHookConfig(cfg);
  if (!cfg.webHookUrl) throw new ConfigError('emqx_web_hook needs a URL to send to: set webHookUrl (STARLING_WEB_HOOK_URL), e.g. http://127.0.0.1:8991/webhook');
  let url: URL;
  try {
    url = new URL(cfg.webHookUrl);
  } catch {
    throw new ConfigError(`webHookUrl (STARLING_WEB_HOOK_URL) "${cfg.webHookUrl}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`webHookUrl (STARLING_WEB_HOOK_URL) must be http:// or https://, got "${cfg.webHookUrl}"`);
  return {
    url,
    headers: parseHeaders(cfg.webHookHeaders),
    encoding: cfg.webHookEncoding,
    rules: parseWebHookRules(cfg.webHookRules),
    poolSize: cfg.webHookPoolSize,
    timeoutMs: cfg.webHookTimeoutMs,
    maxQueue: cfg.webHookMaxQueue,
  };
}
