import type { Resource } from '../endpoint.js';
import type { ApiVersion } from '../router.js';
import { v3AclCache } from './acl-cache.js';
import { alarms } from './alarms.js';
import { v3Apps } from './apps.js';
import { banned } from './banned.js';
import { brokers } from './brokers.js';
import { v3Configs } from './configs.js';
import { connections } from './connections.js';
import { v3Error } from './errors.js';
import { listeners } from './listeners.js';
import { metrics } from './metrics.js';
import { mqtt } from './mqtt.js';
import { nodes } from './nodes.js';
import { plugins } from './plugins.js';
import { routes } from './routes.js';
import { sessions } from './sessions.js';
import { stats } from './stats.js';
import { subscriptions } from './subscriptions.js';
import { v3Users } from './users.js';

/** Every v3 resource, in the order GET /api/v3/ lists them. */
export const resources: Resource[] = [brokers, nodes, connections, sessions, subscriptions, routes, mqtt, plugins, listeners, metrics, stats, alarms, banned, v3Apps, v3AclCache, v3Users, v3Configs];

/**
 * /api/v3, EMQX 3.x's REST API, a layer over v4's endpoints (gateway/api/v3/adapt.ts): its
 * listing shows name, method, path and descr, its failures carry 3.x's codes and messages.
 */
export const v3Api: ApiVersion = {
  resources,
  metricPrefix: 'v3/',
  listed: (e) => ({ name: e.name, method: e.method, path: e.path, descr: e.descr }),
  error: v3Error,
};
