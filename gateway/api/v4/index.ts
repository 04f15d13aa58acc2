import type { Resource } from '../endpoint.js';
import type { ApiVersion } from '../router.js';
import { brokers } from './brokers.js';
import { nodes } from './nodes.js';
import { aclCache } from './acl-cache.js';
import { clients } from './clients.js';
import { routes } from './routes.js';
import { subscriptions } from './subscriptions.js';
import { mqtt } from './mqtt.js';
import { listeners } from './listeners.js';
import { alarms } from './alarms.js';
import { banned } from './banned.js';
import { apps } from './apps.js';
import { plugins } from './plugins.js';
import { modules } from './modules.js';
import { metrics } from './metrics.js';
import { topicMetrics } from './topic-metrics.js';
import { rules } from './rules.js';
import { actions } from './actions.js';
import { stats } from './stats.js';
import { resourceTypes } from './resource-types.js';
import { resources as ruleResources } from './resources.js';
import { data } from './data.js';
import { telemetry } from './telemetry.js';

/** Every v4 resource, in the order GET /api/v4 lists them. */
export const resources: Resource[] = [brokers, nodes, clients, subscriptions, routes, mqtt, plugins, listeners, modules, metrics, topicMetrics, stats, alarms, aclCache, banned, apps, data, rules, actions, resourceTypes, ruleResources, telemetry];

/** /api/v4: its listing shows path, name, method and descr, as EMQX 4's. */
export const v4Api: ApiVersion = {
  resources,
  metricPrefix: '',
  listed: (e) => ({ path: e.path, name: e.name, method: e.method, descr: e.descr }),
};
