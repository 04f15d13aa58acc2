import { randomBytes } from 'node:crypto';
import type { AppRecord } from '../../../shared/api/apps.js';
import { CODE } from '../../../shared/result-codes.js';
import { DEFAULT_APP, hashSecret } from '../../auth.js';
import type { ApiContext, Resource } from '../endpoint.js';
import { ApiError } from '../errors.js';
import { bodySchema } from '../schema.js';
import { stored } from '../stored.js';

/**
 * GET/POST /apps, GET/PUT/DELETE /apps/{appid}: the applications whose AppID/AppSecret
 * authenticate API calls, as EMQX 4.x's emqx_mgmt_api_apps (and its dashboard) have them.
 * They live in the cluster store, so every gateway sees a change within a second.
 *
 * Secrets are stored salted and hashed, never in clear: POST answers the secret once, and
 * GET /apps/{appid} answers without `secret` (EMQX shows it there; it cannot be recovered).
 */

/** `expired`: epoch seconds, or EMQX's "undefined" (null too) for never. */
const EXPIRED = { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', const: 'undefined' }, { type: 'null' }] };
const FIELDS = {
  name: { type: 'string' },
  desc: { type: 'string' },
  status: { type: 'boolean' },
  expired: EXPIRED,
};

interface AppFields {
  name?: string;
  desc?: string;
  status?: boolean;
  expired?: number | 'undefined' | null;
}

interface CreateBody extends AppFields {
  app_id: string;
  name: string;
  secret?: string;
}

const createBody = bodySchema<CreateBody>({
  type: 'object',
  required: ['app_id', 'name'],
  properties: {
    // the AppID is the user of Basic auth, which cannot hold a colon
    app_id: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[^:]+$' },
    secret: { type: 'string', minLength: 1, maxLength: 256 },
    ...FIELDS,
  },
});

/** PUT: the fields given change, the others stay (`app_id` and `secret` cannot change here). */
const updateBody = bodySchema<AppFields>({ type: 'object', properties: FIELDS });

const expiredOf = (v: AppFields['expired']): AppRecord['expired'] => (v === undefined || v === null ? 'undefined' : v);

/** An app as the API shows it (EMQX's field names; no secret). */
const view = (a: AppRecord) => ({ app_id: a.appid, name: a.name, desc: a.desc, status: a.status, expired: a.expired });

async function find({ store }: ApiContext, appid: string): Promise<AppRecord | undefined> {
  return (await stored('apps', () => store.configList('apps'))).find((a) => a.appid === appid);
}

const noSuchApp = (appid: string): ApiError => new ApiError(200, CODE.NO_SUCH_USER, `app ${appid} not found`);

export const apps: Resource = [
  {
    method: 'GET',
    path: '/apps',
    name: 'list_apps',
    descr: 'List Applications',
    handle: async ({ store }) => ({ data: (await stored('apps', () => store.configList('apps'))).map(view) }),
  },
  {
    method: 'POST',
    path: '/apps',
    name: 'add_app',
    descr: 'Add Application',
    handle: async ({ store, body }) => {
      const b = createBody(body);
      // EMQX generates a random secret when none is given
      const secret = b.secret ?? randomBytes(18).toString('base64url');
      const app: AppRecord = {
        appid: b.app_id,
        name: b.name,
        secretHash: hashSecret(secret),
        desc: b.desc ?? '',
        status: b.status ?? true,
        expired: expiredOf(b.expired),
      };
      if (!(await stored('putApp', () => store.configPut('apps', app, 'create')))) {
        throw new ApiError(200, CODE.EXISTS, `app ${b.app_id} already exists`);
      }
      return { data: { secret } };
    },
  },
  {
    method: 'GET',
    path: '/apps/:appid',
    name: 'lookup_app',
    descr: 'Lookup Application',
    handle: async (ctx) => {
      const app = await find(ctx, ctx.params.appid!);
      // EMQX answers an unknown appid with code 0 and an empty object (a lookup finding nothing)
      return { data: app ? view(app) : {} };
    },
  },
  {
    method: 'PUT',
    path: '/apps/:appid',
    name: 'update_app',
    descr: 'Update Application',
    handle: async (ctx) => {
      const appid = ctx.params.appid!;
      const b = updateBody(ctx.body);
      const app = await find(ctx, appid);
      if (!app) throw noSuchApp(appid);
      const next: AppRecord = {
        ...app,
        name: b.name ?? app.name,
        desc: b.desc ?? app.desc,
        status: b.status ?? app.status,
        expired: b.expired === undefined ? app.expired : expiredOf(b.expired),
      };
      // 'update' stores only if the app is still there (deleted meanwhile: 105)
      if (!(await stored('putApp', () => ctx.store.configPut('apps', next, 'update')))) throw noSuchApp(appid);
      return {};
    },
  },
  {
    method: 'DELETE',
    path: '/apps/:appid',
    name: 'del_app',
    descr: 'Delete Application',
    handle: async ({ store, params }) => {
      const appid = params.appid!;
      if (appid === DEFAULT_APP.appid) throw new ApiError(200, CODE.ADMIN_UNDELETABLE, `the default app ${appid} cannot be deleted`);
      if (!(await stored('deleteApp', () => store.configDelete('apps', appid)))) throw noSuchApp(appid);
      return {};
    },
  },
];
