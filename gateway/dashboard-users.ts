/**
 * EMQX 3's dashboard users (emqx_dashboard_admin): kept in the cluster config (kind
 * 'users', shared/api/users.ts), passwords salted and hashed as apps' secrets are. The
 * check of a username and password is here, once: POST /api/v3/auth uses it, and so will a
 * dashboard login.
 */
import type { UserRecord } from '../shared/api/users.js';
import type { ClusterStore } from '../shared/cluster/store.js';
import type { Logger } from '../shared/logger.js';
import { CODE } from '../shared/result-codes.js';
import { hashSecret, secretMatches } from './auth.js';

/** The user every EMQX install starts with (admin/public, tagged as EMQX tags it). */
export const DEFAULT_USER = { username: 'admin', password: 'public', tags: 'administrator' };

/** Creates the default user on the first start of a cluster (no user at all yet), as the default app is. */
export async function ensureDefaultUser(store: ClusterStore, log: Logger): Promise<void> {
  if ((await store.configList('users')).length > 0) return;
  const created = await store.configPut('users', newUser(DEFAULT_USER.username, DEFAULT_USER.password, DEFAULT_USER.tags), 'create');
  if (created) log.info({ username: DEFAULT_USER.username }, 'created the default dashboard user');
}

/** A user record for a new password: only its salted hash is kept. */
export const newUser = (username: string, password: string, tags: string): UserRecord => ({ username, passwordHash: hashSecret(password), tags });

export type UserCheck = { ok: true; user: UserRecord } | { ok: false; code: number; message: string };

const isEmpty = (v: unknown): boolean => v === undefined || v === null || v === '';

/**
 * Whether `password` is `username`'s: 104 when either is missing, 103 when the user is
 * unknown or the password wrong (alike, so that the answer does not tell which users exist).
 */
export async function checkUser(store: ClusterStore, username: unknown, password: unknown): Promise<UserCheck> {
  if (isEmpty(username) || isEmpty(password)) return { ok: false, code: CODE.EMPTY_CREDENTIALS, message: 'username or password undefined' };
  if (typeof username !== 'string' || typeof password !== 'string') return { ok: false, code: CODE.BAD_CREDENTIALS, message: 'username or password error' };
  const user = (await store.configList('users')).find((u) => u.username === username);
  // hash even for an unknown user, so the time taken does not tell either
  const matches = secretMatches(password, user?.passwordHash ?? hashSecret(''));
  if (!user || !matches) return { ok: false, code: CODE.BAD_CREDENTIALS, message: 'username or password error' };
  return { ok: true, user };
}
