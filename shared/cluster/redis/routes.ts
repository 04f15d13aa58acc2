/**
 * The route table on Redis (P = prefix, default 'starling'):
 *
 *   P:routes:<node>    set      the node's route filters (Redis drops it when empty).
 *   P:shared-members:<node>  hash  shared route key → its member count on the node
 *                               (absent: 1; dropped with the route).
 *   P:route-staging:<node>:<id>  set  a setRoutes' new set, for the moment before its
 *                               script swaps it in (expires if that never comes).
 *   P:routes           channel  route-delta notices (shared/cluster/route-delta.ts): per
 *                               batch of writes, the filters actually added or deleted and
 *                               the member counts changed, in order.
 *
 * Every batch is one Lua script doing the changes and their PUBLISH, so notices come in the
 * order the changes were applied, and only real changes are told.
 */
import { randomUUID } from 'node:crypto';
import { DELTA_MAX_CHANGES, parseRouteDelta } from '../route-delta.js';
import type { RouteChange, RouteTable, RouteWrite, StoredRoute } from '../store.js';
import { BATCH, execPipeline, type RedisConnection } from './connection.js';
import { STILL_DEAD } from './purge-guard.js';

// The changes told so far, published DELTA_MAX_CHANGES at a time (ARGV[1] channel, ARGV[2] node).
// A purge's notices say so (purge = true): a node may keep a dead node's routes a while (node/cluster/routes.ts).
const DELTA = `
local out = {}
local purge = false
local function emit()
  if #out > 0 then
    if purge then redis.call('PUBLISH', ARGV[1], cjson.encode({node = ARGV[2], changes = out, purge = true}))
    else redis.call('PUBLISH', ARGV[1], cjson.encode({node = ARGV[2], changes = out})) end
  end
  out = {}
end
local function told(change)
  out[#out + 1] = change
  if #out >= ${DELTA_MAX_CHANGES} then emit() end
end
`;
// KEYS[1] routes set, KEYS[2] member counts; ARGV: channel, node, then per write: op (a add,
// d delete, m member count), filter, count ('' unless m)
const WRITE_ROUTES = `${DELTA}
for i = 3, #ARGV, 3 do
  local op, f = ARGV[i], ARGV[i + 1]
  if op == 'a' then
    if redis.call('SADD', KEYS[1], f) == 1 then told({'add', f}) end
  elseif op == 'd' then
    if redis.call('SREM', KEYS[1], f) == 1 then
      redis.call('HDEL', KEYS[2], f)
      told({'delete', f})
    end
  elseif redis.call('SISMEMBER', KEYS[1], f) == 1 and redis.call('HGET', KEYS[2], f) ~= ARGV[i + 2] then
    redis.call('HSET', KEYS[2], f, ARGV[i + 2])
    told({'add', f, tonumber(ARGV[i + 2])})
  end
end
emit()
return 0`;
// KEYS[1] routes set, KEYS[2] member counts, KEYS[3] node records, KEYS[4] the new set,
// staged (written just before, absent when empty); ARGV: channel, node, the heartbeatAt a
// purge judged dead ('' for none, see purge-guard.ts) → 0 when the guard stopped it, else 1
const SET_ROUTES = `${STILL_DEAD}${DELTA}
if not still_dead(KEYS[3], ARGV[2], ARGV[3]) then
  redis.call('DEL', KEYS[4])
  return 0
end
purge = ARGV[3] ~= ''
for _, f in ipairs(redis.call('SDIFF', KEYS[1], KEYS[4])) do
  redis.call('HDEL', KEYS[2], f)
  told({'delete', f})
end
for _, f in ipairs(redis.call('SDIFF', KEYS[4], KEYS[1])) do told({'add', f}) end
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('RENAME', KEYS[4], KEYS[1])
  redis.call('PERSIST', KEYS[1])
else
  redis.call('DEL', KEYS[1])
end
emit()
return 1`;

/** A staged set outlives a setRoutes whose script never ran (the connection lost) this long, ms. */
const STAGING_TTL_MS = 60_000;

/** The scripts above, as RedisConnection.script() adds them. */
interface Scripts {
  starlingWriteRoutes(key: string, members: string, channel: string, node: string, ...writes: string[]): Promise<unknown>;
  starlingSetRoutes(key: string, members: string, nodes: string, staged: string, channel: string, node: string, heartbeatAt: string): Promise<number>;
}

export class RedisRoutes implements RouteTable {
  private readonly scripts: Scripts;
  private readonly keyPrefix: string;
  private readonly membersPrefix: string;
  private readonly channel: string;
  /** membership's node records (membership.ts), read by a purge's guard */
  private readonly nodesKey: string;
  /** where setRoutes stages a node's new set (not under P:routes:, which routes() scans) */
  private readonly stagingPrefix: string;
  private readonly cbs: ((changes: RouteChange[]) => void)[] = [];

  constructor(private readonly conn: RedisConnection) {
    this.keyPrefix = `${conn.ns}routes:`;
    this.membersPrefix = `${conn.ns}shared-members:`;
    this.channel = `${conn.ns}routes`;
    this.nodesKey = `${conn.ns}nodes`;
    this.stagingPrefix = `${conn.ns}route-staging:`;
    conn.script('starlingWriteRoutes', WRITE_ROUTES, 2);
    conn.script('starlingSetRoutes', SET_ROUTES, 4);
    this.scripts = conn.cmd as unknown as Scripts;
    conn.listen(this.channel, (message) => this.onMessage(message));
  }

  writeRoutes(node: string, writes: RouteWrite[]): Promise<void> {
    if (writes.length === 0) return Promise.resolve();
    const args: string[] = [];
    for (const w of writes) {
      if (w.op === 'members') args.push('m', w.filter, String(w.members));
      else args.push(w.op === 'add' ? 'a' : 'd', w.filter, '');
    }
    return this.conn.call('writeRoutes', async () => {
      await this.scripts.starlingWriteRoutes(this.keyPrefix + node, this.membersPrefix + node, this.channel, node, ...args);
    });
  }

  setRoutes(node: string, filters: string[]): Promise<void> {
    return this.conn.call('setRoutes', async () => {
      await this.replace(node, filters);
    });
  }

  /**
   * setRoutes without the operation's name on errors, for a caller that names its own
   * (purgeNode, which passes its guard: `deadAt`, the heartbeatAt of the record it judged
   * dead); false when the guard stopped it.
   */
  async replace(node: string, filters: string[], deadAt = ''): Promise<boolean> {
    // The new set is staged in a key of its own, BATCH members a command (a node's hundred
    // thousand routes as one script's arguments would overflow the call stack), then swapped
    // in by the script: all in one pipeline sent at once, so writes queued after this call
    // still reach Redis after it.
    const staged = `${this.stagingPrefix}${node}:${randomUUID()}`;
    const pipe = this.conn.cmd.pipeline();
    for (let i = 0; i < filters.length; i += BATCH) pipe.sadd(staged, ...filters.slice(i, i + BATCH));
    if (filters.length > 0) pipe.pexpire(staged, STAGING_TTL_MS);
    void (pipe as unknown as Scripts).starlingSetRoutes(this.keyPrefix + node, this.membersPrefix + node, this.nodesKey, staged, this.channel, node, deadAt);
    const results = await execPipeline<number>(pipe);
    return results[results.length - 1] === 1;
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
        // a Map: a property lookup by each of a million filter strings would intern them all
        const counts = new Map(Object.entries(results[2 * i + 1] as Record<string, string>));
        for (const filter of results[2 * i] as string[]) {
          const members = counts.size > 0 ? counts.get(filter) : undefined;
          out.push(members === undefined ? { node, filter } : { node, filter, members: Number(members) });
        }
      });
      return out;
    });
  }

  onRouteChanges(cb: (changes: RouteChange[]) => void): void {
    this.cbs.push(cb);
  }

  private onMessage(message: Buffer): void {
    const text = message.toString();
    const changes = parseRouteDelta(text);
    if (!changes) return void this.conn.log?.warn({ message: text.slice(0, 200) }, 'ignoring a malformed route notice');
    // each callback gets changes of its own to keep
    this.cbs.forEach((cb, i) => this.conn.safely('onRouteChanges', () => cb(i === 0 ? changes : changes.map((c) => ({ ...c })))));
  }
}

/** SCAN MATCH treats * ? [ ] \ specially; a prefix is literal. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
