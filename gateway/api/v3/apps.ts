import type { Resource } from '../endpoint.js';
import { apps } from '../v4/apps.js';

/**
 * /apps, /apps/{appid}: EMQX 3's emqx_mgmt_api_apps answers with the same names, fields and
 * codes as 4.x's, over the same applications, so v3 serves v4's endpoints themselves (one
 * store, one implementation: an app created through either API is the other's too).
 */
export const v3Apps: Resource = apps.map((e) => (e.path === '/apps' ? { ...e, path: '/apps/' } : e)); // the listing writes v3's '/apps/' (routing takes both)
