/**
 * emqx_mod_acl_internal: the ACL file's rules. Unloaded, no rule applies and aclNoMatch alone
 * decides (as EMQX with no ACL source); reload re-reads the file. Every switch clears the
 * connected clients' ACL caches, so the change applies to their next PUBLISH and SUBSCRIBE
 * rather than when their cached results expire.
 */
import type { Config } from '../../shared/config.js';
import { configuredAcl, noRulesAcl, type AccessControl, type Acl } from '../access/index.js';
import type { Connection } from '../protocol/connection.js';
import type { Feature } from './feature.js';

export function aclInternalFeature(cfg: Pick<Config, 'aclFile' | 'aclNoMatch'>, access: AccessControl, connections: ReadonlySet<Connection>): Feature {
  // on at start: AccessControl.fromConfig built the configured rules
  let active = true;
  // configuredAcl reads and parses the file before anything is swapped: a bad file changes nothing
  const use = (acl: Acl | undefined): void => {
    access.setAcl(acl);
    for (const c of connections) c.aclCache?.clear();
  };
  return {
    get active() {
      return active;
    },
    load() {
      use(configuredAcl(cfg));
      active = true;
    },
    unload() {
      use(noRulesAcl(cfg.aclNoMatch));
      active = false;
    },
    reload() {
      use(configuredAcl(cfg));
    },
  };
}
