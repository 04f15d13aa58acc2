import type { Config } from '../../shared/config.js';
import { Acl, type AclAccess, type AclResult, type AclSubject } from './acl.js';
import { AclCache } from './acl-cache.js';
import { loadAclFile } from './acl-rules.js';
import { coarseClock } from './coarse-clock.js';
import { aclFilePath } from './default-acl.js';

export * from './acl-rules.js';
export * from './acl.js';
export * from './acl-cache.js';
export * from './auth.js';
export * from './banned.js';
export * from './default-acl.js';

export interface AccessControlOptions {
  acl: Acl | undefined;
  cacheEnabled: boolean;
  cacheMaxSize: number;
  cacheTtlMs: number;
  /** Called on every check, cached or not (the caller counts client.check_acl, as EMQX does). */
  onCheck?: () => void;
  /** Clock for the caches, epoch ms (default: a coarse one, see coarse-clock.ts); tests inject one. */
  now?: () => number;
}

/** The rule set with no rules (no file, or emqx_mod_acl_internal unloaded): aclNoMatch alone decides ('allow' needs no Acl at all). */
export function noRulesAcl(noMatch: AclResult): Acl | undefined {
  return noMatch === 'deny' ? new Acl([], 'deny') : undefined;
}

/**
 * The configured rule set, read now: aclFile's rules (read and parsed, throwing
 * AclParseError) when it names a file (the default: the package's etc/acl.conf; `none`:
 * no file), else none. At start, and on each load or reload of emqx_mod_acl_internal
 * (node/features/acl-internal.ts).
 */
export function configuredAcl(cfg: Pick<Config, 'aclNoMatch'> & { aclFile: string | undefined }): Acl | undefined {
  const file = aclFilePath(cfg.aclFile);
  return file ? new Acl(loadAclFile(file), cfg.aclNoMatch) : noRulesAcl(cfg.aclNoMatch);
}

/** What the connection code calls for ACL: one shared rule set, one cache per client. */
export class AccessControl {
  private aclRules: Acl | undefined;
  private readonly opts: AccessControlOptions;

  constructor(opts: AccessControlOptions) {
    this.opts = opts;
    this.aclRules = opts.acl;
  }

  get acl(): Acl | undefined {
    return this.aclRules;
  }

  /**
   * Swaps the rule set (e.g. a reload). Existing client caches keep their results until
   * their TTL, as in EMQX; clear them if the change must apply at once.
   */
  setAcl(acl: Acl | undefined): void {
    this.aclRules = acl;
  }

  /** A cache for a new connection, or undefined when caching is off (or pointless: no ACL). */
  newCache(): AclCache | undefined {
    const o = this.opts;
    if (!o.cacheEnabled || o.cacheMaxSize <= 0 || !this.aclRules) return undefined;
    return new AclCache(o.cacheMaxSize, o.cacheTtlMs, o.now ?? coarseClock());
  }

  check(subject: AclSubject, cache: AclCache | undefined, access: AclAccess, topic: string): AclResult {
    this.opts.onCheck?.();
    const acl = this.aclRules;
    if (!acl) return 'allow';
    const hit = cache?.get(access, topic);
    if (hit !== undefined) return hit;
    const result = acl.check(subject, access, topic);
    cache?.put(access, topic, result);
    return result;
  }

  /**
   * Builds from config; reads and parses aclFile (throwing AclParseError) when it names a
   * file. Without a file, aclNoMatch alone decides, as in EMQX: 'allow' needs no Acl at
   * all, 'deny' becomes an empty rule set that denies everything (configuredAcl).
   */
  static fromConfig(
    cfg: Pick<Config, 'aclNoMatch' | 'aclCacheEnable' | 'aclCacheMaxSize' | 'aclCacheTtlMs'> & { aclFile: string | undefined },
    hooks: { onCheck?: () => void; now?: () => number } = {},
  ): AccessControl {
    return new AccessControl({
      acl: configuredAcl(cfg),
      cacheEnabled: cfg.aclCacheEnable,
      cacheMaxSize: cfg.aclCacheMaxSize,
      cacheTtlMs: cfg.aclCacheTtlMs,
      ...hooks,
    });
  }
}
