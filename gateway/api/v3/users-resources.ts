import type { Resource } from '../endpoint.js';
import { v3AclCache } from './acl-cache.js';
import { v3Apps } from './apps.js';
import { v3Configs } from './configs.js';
import { v3Users } from './users.js';

/** The v3 tables of apps, dashboard users, configs and the per-topic ACL cache clean, for /api/v3's index. */
export const v3UsersResources: readonly Resource[] = [v3Apps, v3AclCache, v3Users, v3Configs];
