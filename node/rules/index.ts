import type { Logger } from '../../shared/logger.js';
import type { Broker } from '../broker.js';
import { actionRegistry } from './actions/registry.js';
import { RuleEngine } from './engine.js';

/**
 * The rule engine of one broker: its action types (the registry, where the resource
 * providers' actions join), publishing through the broker, loaded at once (EMQX loads
 * emqx_rule_engine by default; the plugins registry may unload it).
 */
export function ruleEngine(b: Broker, log: Logger): RuleEngine {
  const engine = new RuleEngine({
    nodeName: b.nodeName,
    hooks: b.hooks,
    actions: actionRegistry(),
    publish: (msg) => void b.publish(msg),
    dropIfUnrouted: (topic, retain, memo) => b.dropIfUnrouted(topic, retain, memo),
    lookup: (clientid) => {
      const conn = b.sessions.get(clientid)?.conn;
      return conn === undefined ? undefined : { username: conn.username, peerhost: conn.peerHost };
    },
    // the node's instance of each resource (web_hook, ...), for the actions bound to one
    resource: (id) => b.resources.get(id),
    log,
  });
  engine.load();
  return engine;
}
