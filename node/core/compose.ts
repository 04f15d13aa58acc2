import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import { AccessControl, Authenticator, BannedList, loadBannedFile, loadUsersFile } from '../access/index.js';
import { Broker } from '../broker.js';
import { topicMetricsFeature } from '../features/topic-metrics.js';
import { catalog } from '../features/catalog.js';
import { ruleEngine } from '../rules/index.js';
import { configuredListeners } from '../listeners/index.js';
import { Metrics, metricIndex } from '../metrics/metrics.js';
import { Stats } from '../metrics/stats.js';
import { Connection } from '../protocol/connection.js';
import { RetainedStore } from '../router/retained.js';
import { Router } from '../router/router.js';
import { Hooks } from './hooks.js';
import type { Accept } from './ports.js';

const M_CHECK_ACL = metricIndex('client.check_acl');
const M_RETAINED = metricIndex('messages.retained');

/**
 * Builds one broker node from its configuration: the parts the broker is given (access
 * control, authentication, banned list, router, retained store, hooks) and the listeners,
 * whose accepted streams become connections of this broker. Used by main.ts and by tests
 * that run a broker in-process; the cluster layer is attached afterwards (broker.cluster).
 */
export function composeBroker(cfg: Config, log: Logger, hooks: Hooks = new Hooks(log.child({ component: 'hooks' }))): Broker {
  const metrics = new Metrics();
  const stats = new Stats();
  const banned = new BannedList();
  if (cfg.bannedFile) banned.replaceAll(loadBannedFile(cfg.bannedFile));
  const broker: Broker = new Broker({
    cfg,
    log,
    metrics,
    stats,
    hooks,
    access: AccessControl.fromConfig(cfg, { onCheck: () => metrics.inc(M_CHECK_ACL) }),
    auth: new Authenticator({ allowAnonymous: cfg.allowAnonymous, users: cfg.usersFile ? loadUsersFile(cfg.usersFile) : [] }),
    banned,
    // the cluster layer is attached after the broker is built: read it at each event
    router: new Router(cfg.sharedDispatchStrategy, {
      routeAdded: (f) => broker.cluster.routeAdded(f),
      routeDeleted: (f) => broker.cluster.routeDeleted(f),
    }),
    retained: new RetainedStore((n) => {
      metrics.values[M_RETAINED] = n;
      stats.set('retained', n);
    }),
    // unloaded until the feature registry says otherwise (EMQX ships it unloaded)
    topicMetrics: topicMetricsFeature(hooks, { loaded: false }),
    rules: (b) => ruleEngine(b, log.child({ component: 'rules' })),
  });
  broker.features.register(catalog(broker));
  const accept: Accept = (socket, listener, peerHost, peerPort, certUsername) => new Connection(broker, socket, listener, peerHost, peerPort, certUsername);
  broker.listeners.push(...configuredListeners(cfg, accept));
  return broker;
}
