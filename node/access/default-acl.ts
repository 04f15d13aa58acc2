import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The ACL file the package ships, EMQX's default rules (`etc/acl.conf`): loaded unless
 * STARLING_ACL_FILE names another file or is `none`, so that a default install checks and
 * caches ACL results as EMQX does (and `GET /clients/{id}/acl_cache` shows them).
 */
export const DEFAULT_ACL_FILE = 'etc/acl.conf';
/** The value of STARLING_ACL_FILE that loads no file (an empty value means "unset", as for every setting). */
export const NO_ACL_FILE = 'none';

/** The package root: this file runs as <root>/dist/node/access/default-acl.js. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The file to read for the configured `aclFile`: the default is the package's own, wherever the process runs; `none` is no file. */
export function aclFilePath(aclFile: string | undefined): string | undefined {
  if (aclFile === undefined || aclFile === NO_ACL_FILE) return undefined;
  return aclFile === DEFAULT_ACL_FILE ? join(PACKAGE_ROOT, DEFAULT_ACL_FILE) : aclFile;
}
