/**
 * The catalog: every plugin and module the node lists (GET /api/v4/plugins, /modules), one
 * line per entry, each wired to the Feature it switches, built from the node's parts. Names,
 * types and descriptions are EMQX 4.x's. A feature listed under both a plugin and a module
 * name is one Switchable (one id, one state) given to both lines.
 */
import type { PluginType } from '../../shared/api/plugins.js';
import type { Broker } from '../broker.js';
import { aclInternalFeature } from './acl-internal.js';
import { authUsernameFeature } from './auth-username.js';
import { autoSubscribeModule } from './auto-subscribe.js';
import type { Feature } from './feature.js';
import type { CatalogEntry, Switchable } from './registry.js';
import { rewriteModule } from './rewrite.js';
import { TOPIC_METRICS_MODULE } from './topic-metrics.js';
import { delayedFeature, managementFeature, presenceFeature, retainerFeature } from './switches.js';
import { webHookPlugin } from './web-hook/index.js';

/** A feature under its id (the key of its feature_states records) and its state when no record says otherwise. */
export const switchable = (id: string, feature: Feature, defaultActive: boolean): Switchable => ({ id, feature, defaultActive });

const plugin = (name: string, description: string, type: PluginType, switches: Switchable): CatalogEntry => ({ namespace: 'plugin', name, description, type, switches });
const module = (name: string, description: string, switches: Switchable): CatalogEntry => ({ namespace: 'module', name, description, switches });

/** A module whose configuration is given is loaded by default, as EMQX loads a module it has rules for. */
const configured = (setting: string | undefined): boolean => setting !== undefined && setting !== '';

export function catalog(b: Broker): CatalogEntry[] {
  const cfg = b.cfg;
  const management = switchable('management', managementFeature(), true);
  const retainer = switchable('retainer', retainerFeature(b.retained), true);
  const delayed = switchable('delayed_publish', delayedFeature(b.delayed), true);
  const presence = switchable('presence', presenceFeature(b.presence), cfg.presenceEvents);
  const aclInternal = switchable('acl_internal', aclInternalFeature(cfg, b.access, b.connections), true);
  const authUsername = switchable('auth_username', authUsernameFeature(cfg, b.auth), configured(cfg.usersFile));
  return [
    plugin('emqx_management', 'EMQX Management API and CLI', 'feature', management),
    plugin('emqx_retainer', 'EMQX Retainer', 'feature', retainer),
    plugin('emqx_delayed_publish', 'EMQX Delayed Publish', 'feature', delayed),
    plugin('emqx_auth_username', 'EMQX Authentication with Username and Password', 'auth', authUsername),
    plugin('emqx_rule_engine', 'EMQX Rule Engine', 'feature', switchable('rule_engine', b.rules, true)),
    plugin('emqx_web_hook', 'EMQX WebHook Plugin', 'feature', switchable('web_hook', webHookPlugin(b), false)),

    module('emqx_mod_presence', 'EMQX Presence Module', presence),
    module('emqx_mod_delayed', 'EMQX Delayed Publish Module', delayed),
    module('emqx_mod_acl_internal', 'EMQX Internal ACL Module', aclInternal),
    module('emqx_mod_retainer', 'EMQX Retainer Module', retainer),
    module('emqx_mod_rewrite', 'EMQX Topic Rewrite Module', switchable('rewrite', rewriteModule(b), configured(cfg.rewriteRules))),
    module('emqx_mod_subscription', 'EMQX Subscription Module', switchable('subscription', autoSubscribeModule(b), configured(cfg.autoSubscribe))),
    module(TOPIC_METRICS_MODULE.name, TOPIC_METRICS_MODULE.description, switchable('topic_metrics', b.topicMetrics, false)),
  ];
}
