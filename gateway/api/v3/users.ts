import type { UserRecord } from '../../../shared/api/users.js';
import { CODE } from '../../../shared/result-codes.js';
import { checkUser, DEFAULT_USER, newUser } from '../../dashboard-users.js';
import type { ApiContext, Resource } from '../endpoint.js';
import { ApiError } from '../errors.js';
import { bodySchema } from '../schema.js';
import { stored } from '../stored.js';

/**
 * /users, /change_pwd/{username}, /auth: EMQX 3's dashboard users (emqx_dashboard_api), in
 * the cluster config (gateway/dashboard-users.ts keeps them and checks their passwords).
 * Results as EMQX's: 104 a username or password missing, 103 bad credentials, 105 no such
 * user, 106 the admin cannot be deleted, 113 the user exists, 114 the old password wrong.
 */

const text = { type: 'string' };
const createBody = bodySchema<{ username?: string; password?: string; tags?: string }>({ type: 'object', properties: { username: text, password: text, tags: text } });
const updateBody = bodySchema<{ tags?: string }>({ type: 'object', properties: { tags: text } });
const authBody = bodySchema<{ username?: string; password?: string }>({ type: 'object', properties: { username: text, password: text } });
const changePwdBody = bodySchema<{ old_pwd?: string; new_pwd?: string }>({ type: 'object', properties: { old_pwd: text, new_pwd: text } });

const fail = (code: number, message: string): ApiError => new ApiError(200, code, message);
const noSuchUser = (username: string): ApiError => fail(CODE.NO_SUCH_USER, `user ${username} not found`);

const list = ({ store }: ApiContext): Promise<UserRecord[]> => stored('users', () => store.configList('users'));
const find = async (ctx: ApiContext, username: string): Promise<UserRecord | undefined> => (await list(ctx)).find((u) => u.username === username);
/** 'update' stores only if the user is still there (deleted meanwhile: 105) */
async function replace(ctx: ApiContext, user: UserRecord): Promise<void> {
  if (!(await stored('putUser', () => ctx.store.configPut('users', user, 'update')))) throw noSuchUser(user.username);
}

export const v3Users: Resource = [
  {
    method: 'GET',
    path: '/users/',
    name: 'list_users',
    descr: 'List users',
    handle: async (ctx) => ({ data: (await list(ctx)).map((u) => ({ username: u.username, tags: u.tags })) }),
  },
  {
    method: 'POST',
    path: '/users/',
    name: 'create_user',
    descr: 'Create an user',
    handle: async ({ store, body }) => {
      const b = createBody(body);
      if (!b.username || !b.password) throw fail(CODE.EMPTY_CREDENTIALS, 'username or password undefined');
      const username = b.username;
      if (!(await stored('putUser', () => store.configPut('users', newUser(username, b.password!, b.tags ?? ''), 'create')))) {
        throw fail(CODE.EXISTS, `user ${username} already exists`);
      }
      return {};
    },
  },
  {
    method: 'PUT',
    path: '/users/:name',
    name: 'update_user',
    descr: 'Update an user',
    handle: async (ctx) => {
      const b = updateBody(ctx.body);
      const user = await find(ctx, ctx.params.name!);
      if (!user) throw noSuchUser(ctx.params.name!);
      await replace(ctx, { ...user, tags: b.tags ?? user.tags });
      return {};
    },
  },
  {
    method: 'DELETE',
    path: '/users/:name',
    name: 'delete_user',
    descr: 'Delete an user',
    handle: async ({ store, params }) => {
      const username = params.name!;
      if (username === DEFAULT_USER.username) throw fail(CODE.ADMIN_UNDELETABLE, `the user ${username} cannot be deleted`);
      if (!(await stored('deleteUser', () => store.configDelete('users', username)))) throw noSuchUser(username);
      return {};
    },
  },
  {
    method: 'PUT',
    path: '/change_pwd/:username',
    name: 'change_pwd',
    descr: 'Change password for an user',
    handle: async (ctx) => {
      const username = ctx.params.username!;
      const b = changePwdBody(ctx.body);
      if (!b.old_pwd || !b.new_pwd) throw fail(CODE.EMPTY_CREDENTIALS, 'old_pwd or new_pwd undefined');
      const check = await stored('users', () => checkUser(ctx.store, username, b.old_pwd));
      if (!check.ok) {
        if (check.code === CODE.EMPTY_CREDENTIALS) throw fail(check.code, check.message);
        if (!(await find(ctx, username))) throw noSuchUser(username);
        throw fail(CODE.OLD_PASSWORD_WRONG, 'old password wrong');
      }
      await replace(ctx, newUser(username, b.new_pwd, check.user.tags));
      return {};
    },
  },
  {
    method: 'POST',
    path: '/auth',
    name: 'auth_user',
    descr: 'Authenticate an user',
    handle: async ({ store, body }) => {
      const b = authBody(body);
      const check = await stored('users', () => checkUser(store, b.username, b.password));
      if (!check.ok) throw fail(check.code, check.message);
      return {};
    },
  },
];
