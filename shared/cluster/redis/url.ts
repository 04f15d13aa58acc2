/**
 * What REDIS_URL names: one Redis server (`redis://host:port[/db]`, anything ioredis takes),
 * or a primary watched by Sentinel:
 *
 *   redis-sentinel://[[user]:password@]host:port[,host:port…]/<master name>[?db=N]
 *
 * For the Sentinel form ioredis asks the sentinels for the current primary on every
 * (re)connection, so after a failover it reconnects to the promoted replica by itself; the
 * password is the data servers' (sentinels without auth, as Debian ships them).
 */
import type { RedisOptions } from 'ioredis';
import { ConfigError } from '../../config.js';

export type RedisTarget = { url: string } | { sentinel: RedisOptions };

const SENTINEL_SCHEME = 'redis-sentinel://';
const DEFAULT_SENTINEL_PORT = 26379;

/** Parses REDIS_URL; throws a ConfigError (the entry points print it as one) on a malformed Sentinel form (a plain URL is left to ioredis). */
export function redisTarget(url: string): RedisTarget {
  if (!url.startsWith(SENTINEL_SCHEME)) return { url };
  const rest = url.slice(SENTINEL_SCHEME.length);
  const at = rest.lastIndexOf('@', rest.indexOf('/') < 0 ? rest.length : rest.indexOf('/'));
  const auth = at >= 0 ? rest.slice(0, at) : '';
  const afterAuth = at >= 0 ? rest.slice(at + 1) : rest;
  const slash = afterAuth.indexOf('/');
  if (slash < 0) throw new ConfigError(`REDIS_URL ${redactTarget(url)}: the Sentinel form needs /<master name> after the addresses`);
  const hosts = afterAuth.slice(0, slash);
  const [path, query = ''] = afterAuth.slice(slash + 1).split('?', 2);
  const name = decodeURIComponent(path ?? '');
  if (!name) throw new ConfigError(`REDIS_URL ${redactTarget(url)}: the Sentinel form needs a master name`);
  const sentinels = hosts
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)
    .map((h) => {
      const colon = h.lastIndexOf(':');
      const host = colon < 0 ? h : h.slice(0, colon);
      const port = colon < 0 ? DEFAULT_SENTINEL_PORT : Number(h.slice(colon + 1));
      if (!host || !Number.isInteger(port) || port <= 0 || port > 65535) throw new ConfigError(`REDIS_URL ${redactTarget(url)}: bad sentinel address ${h}`);
      return { host, port };
    });
  if (sentinels.length === 0) throw new ConfigError(`REDIS_URL ${redactTarget(url)}: no sentinel address`);
  const opts: RedisOptions = { sentinels, name };
  if (auth) {
    const colon = auth.indexOf(':');
    const user = decodeURIComponent(colon < 0 ? '' : auth.slice(0, colon));
    const password = decodeURIComponent(colon < 0 ? auth : auth.slice(colon + 1));
    if (user) opts.username = user;
    if (password) opts.password = password;
  }
  const db = new URLSearchParams(query).get('db');
  if (db !== null) {
    const n = Number(db);
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`REDIS_URL ${redactTarget(url)}: bad db ${db}`);
    opts.db = n;
  }
  return { sentinel: opts };
}

/** The URL without its password, for messages and logs. */
export function redactTarget(url: string): string {
  if (url.startsWith(SENTINEL_SCHEME)) return url.replace(/\/\/([^@/]*:)?[^@/]*@/, (_m, user: string | undefined) => `//${user ?? ''}***@`);
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
