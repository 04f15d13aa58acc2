/**
 * The route table on Redis (P = prefix, default 'starling'):
 *
 *   P:routes:<node>    set      the node's route filters (Redis drops it when empty).
 *   P:shared-members:<node>  hash  shared route key → its member count on the node
 *                               (absent: 1; dropped with the route).
 *   P:routes           channel  JSON RouteChange, one message per filter actually added or
 *                               deleted, or per member count changed (an 'add' with members).
 *
 * Every change is one Lua script doing it and its PUBLISH, so announcements come in the
 * order the changes were applied, and only real changes are announced.
 */
import type { RouteChange, RouteTable, StoredRoute } from '../store.js';
import { BATCH, execPipeline, type RedisConnection } from './connection.js';

// KEYS[1] routes set; ARGV: filter, channel, message
const ADD_ROUTE = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 0`;
// KEYS[2] the node's shared member counts
const DELETE_ROUTE = `
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
end
return 0`;
// KEYS[1] routes set, KEYS[2] member counts; ARGV: filter, count, channel, message
const SET_SHARED_MEMBERS = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 0`;
// KEYS[1] routes set, KEYS[2] member counts; ARGV: channel, node, filters... (the whole new set)
const SET_ROUTES = `
local want = {}
for i = 3, #ARGV do want[ARGV[i]] = true end
local have = {}
for _, f in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  have[f] = true
  if not want[f] then
    redis.call('SREM', KEYS[1], f)
    redis.call('HDEL', KEYS[2], f)
    redis.call('PUBLISH', ARGV[1], cjson.encode({op = 'delete', node = ARGV[2], filter = f}))
  end
end
for i = 3, #ARGV do
  local f = ARGV[i]
  if not have[f] then
    have[f] = true
    redis.call('SADD', KEYS[1], f)
    redis.call('PUBLISH', ARGV[1], cjson.encode({op = 'add', node = ARGV[2], filter = f}))
  end
end
return 0`;

/** The scripts above, as RedisConnection.script() adds them. */
interface Scripts {
  starlingAddRoute(key: string, filter: string, channel: string, message: string): Promise<unknown>;
  starlingDeleteRoute(key: string, members: string, filter: string, channel: string, message: string): Promise<unknown>;
  starlingSetSharedMembers(key: string, members: string, filter: string, count: string, channel: string, message: string): Promise<unknown>;
  starlingSetRoutes(key: string, members: string, channel: string, node: string, ...filters: string[]): Promise<unknown>;
}

export class RedisRoutes implements RouteTable {
  private readonly scripts: Scripts;
  private readonly keyPrefix: string;
  private readonly membersPrefix: string;
  private readonly channel: string;
  private readonly cbs: ((change: RouteChange) => void)[] = [];

  constructor(private readonly conn: RedisConnection) {
    this.keyPrefix = `${conn.ns}routes:`;
    this.membersPrefix = `${conn.ns}shared-members:`;
    this.channel = `${conn.ns}routes`;
    conn.script('starlingAddRoute', ADD_ROUTE);
    conn.script('starlingDeleteRoute', DELETE_ROUTE, 2);
    conn.script('starlingSetSharedMembers', SET_SHARED_MEMBERS, 2);
    conn.script('starlingSetRoutes', SET_ROUTES, 2);
    this.scripts = conn.cmd as unknown as Scripts;
    conn.listen(this.channel, (message) => this.onMessage(message));
  }

  addRoute(node: string, filter: string): Promise<void> {
    const msg = JSON.stringify({ op: 'add', node, filter } satisfies RouteChange);
    return this.conn.call('addRoute', async () => {
      await this.scripts.starlingAddRoute(this.keyPrefix + node, filter, this.channel, msg);
    });
  }

  deleteRoute(node: string, filter: string): Promise<void> {
    const msg = JSON.stringify({ op: 'delete', node, filter } satisfies RouteChange);
    return this.conn.call('deleteRoute', async () => {
      await this.scripts.starlingDeleteRoute(this.keyPrefix + node, this.membersPrefix + node, filter, this.channel, msg);
    });
  }

  setSharedMembers(node: string, key: string, members: number): Promise<void> {
    const msg = JSON.stringify({ op: 'add', node, filter: key, members } satisfies RouteChange);
    return this.conn.call('setSharedMembers', async () => {
      await this.scripts.starlingSetSharedMembers(this.keyPrefix + node, this.membersPrefix + node, key, String(members), this.channel, msg);
    });
  }

  setRoutes(node: string, filters: string[]): Promise<void> {
    return this.conn.call('setRoutes', () => this.replace(node, filters));
  }

  /** setRoutes without the operation's name on errors, for a caller that names its own (purgeNode). */
  async replace(node: string, filters: string[]): Promise<void> {
    await this.scripts.starlingSetRoutes(this.keyPrefix + node, this.membersPrefix + node, this.channel, node, ...filters);
  }

  routes(): Promise<StoredRoute[]> {
    return this.conn.call('routes', async () => {
      // Every route set, found by SCAN: a set left by a node that is no longer in P:nodes
      // (a purge cut short) is still part of the table.
      const keys = new Set<string>();
      const match = escapeGlob(this.keyPrefix) + '*';
      let cursor = '0';
      do {
        const [next, batch] = await this.conn.cmd.scan(cursor, 'MATCH', match, 'COUNT', BATCH);
        cursor = next;
        for (const key of batch) keys.add(key);
      } while (cursor !== '0');
      if (keys.size === 0) return [];
      const ordered = [...keys];
      const pipe = this.conn.cmd.pipeline();
      for (const key of ordered) pipe.smembers(key).hgetall(this.membersPrefix + key.slice(this.keyPrefix.length));
      const results = await execPipeline<string[] | Record<string, string>>(pipe);
      const out: StoredRoute[] = [];
      ordered.forEach((key, i) => {
        const node = key.slice(this.keyPrefix.length);
        const counts = results[2 * i + 1] as Record<string, string>;
        for (const filter of results[2 * i] as string[]) {
          const members = counts[filter];
          out.push(members === undefined ? { node, filter } : { node, filter, members: Number(members) });
        }
      });
      return out;
    });
  }

  onRouteChange(cb: (change: RouteChange) => void): void {
    this.cbs.push(cb);
  }

  private onMessage(message: Buffer): void {
    const change = parseRouteChange(message.toString());
    if (!change) return void this.conn.log?.warn({ message: message.toString() }, 'ignoring a malformed route change');
    for (const cb of this.cbs) this.conn.safely('onRouteChange', () => cb({ ...change }));
  }
}

function parseRouteChange(json: string): RouteChange | undefined {
  try {
    const v = JSON.parse(json) as Partial<RouteChange>;
    if ((v.op === 'add' || v.op === 'delete') && typeof v.node === 'string' && typeof v.filter === 'string') {
      const members = typeof v.members === 'number' && v.members > 0 ? v.members : undefined;
      return members === undefined ? { op: v.op, node: v.node, filter: v.filter } : { op: v.op, node: v.node, filter: v.filter, members };
    }
  } catch {
    /* malformed */
  }
  return undefined;
}

/** SCAN MATCH treats * ? [ ] \ specially; a prefix is literal. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
