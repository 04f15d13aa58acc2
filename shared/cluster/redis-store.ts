/**
 * ClusterStore on Redis (ioredis), for the clustered mode.
 *
 * Key layout (P = prefix, default 'starling'):
 *
 *   P:nodes            hash   node name → JSON NodeRecord. heartbeat() = HSET; liveness is
 *                             judged by callers from heartbeatAt against their ttl, so no
 *                             expiring "alive" key is kept. deregister()/purgeNode() = HDEL.
 *   P:purge:<dead>     string the node that claimed the purge; SET NX PX ttl.
 *   P:routes:<node>    set    the node's route filters (Redis drops it when empty).
 *   P:clients          hash   clientid → node.
 *   P:retained         hash   topic → wire-encoded message (binary).
 *   P:apps             hash   appid → JSON AppRecord (management API applications).
 *   P:banned           hash   `<as>:<who>` → JSON BannedEntry (`as` holds no colon; the
 *                             entry is read from the JSON, never from the field).
 *
 * Pub/sub channels:
 *
 *   P:routes           JSON RouteChange, one message per filter actually added or deleted.
 *   P:retained         binary frame carrying the new value, so receivers need no read-back
 *                      (and cannot read back a later value out of order):
 *                      [1 byte: 1 = set, 0 = delete][4 bytes BE: topic byte length][topic
 *                      UTF-8][value bytes, set only]. A delete of an absent topic is not
 *                      announced, as a route change that changes nothing is not.
 *   P:config           the kind of configuration that changed, 'apps' or 'banned', once per
 *                      write that changed something; receivers read it back (apps(),
 *                      banned()). A create of an existing appid, an update or delete of an
 *                      absent one, a purge removing nothing: not announced.
 *
 * Every write that announces something is one Lua script doing the change and its PUBLISH,
 * so announcements come in the order the changes were applied, and only real changes are
 * announced. Scripts also give the compare-and-set operations of the client registry:
 * registerClient (get-and-set), unregisterClient and purgeNode's client removal
 * (compare-and-delete, so a client that registered elsewhere meanwhile stays), and those of
 * the configuration: putApp's create-if-absent (HSETNX) and update-if-present, and
 * purgeExpiredBanned (reads every entry's `until` in the script: the table is small).
 *
 * Connections: one for commands, one subscribed to the three channels. Both reconnect forever
 * (250 ms, 500 ms, … capped at 1 s). While either is away calls reject at once: no offline
 * queue, commands in flight when the connection drops are failed rather than resent
 * (maxRetriesPerRequest 0, so a script never runs twice; a rejected write may still have been
 * applied, its reply lost, which the resynchronisation after onReconnect covers), and a
 * command timeout bounds a silent network. 'error' events are logged, never thrown. The subscriber re-subscribes by
 * hand on every reconnect so that onReconnect callbacks run only once notifications flow
 * again: a caller reloading state from there on misses nothing.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import {
  asAppRecord,
  asBannedEntry,
  bannedKey,
  compareApps,
  compareBanned,
  copyApp,
  copyBanned,
  type AppRecord,
  type BannedAs,
  type BannedEntry,
  type ConfigKind,
} from './config-types.js';
import type { ClusterStore, NodeRecord, RouteChange } from './store.js';

export interface RedisStoreOptions {
  url: string;
  /** key and channel prefix (default 'starling'): several clusters may share one Redis */
  prefix?: string;
  log?: Logger;
  /** start() gives up after this long (default 10 s) */
  startTimeoutMs?: number;
  /** a command without reply after this long rejects (default 5 s): a silent network must not hang callers */
  commandTimeoutMs?: number;
}

// KEYS[1] routes set; ARGV: filter, channel, message
const ADD_ROUTE = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 0`;
const DELETE_ROUTE = `
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 0`;
// KEYS[1] routes set; ARGV: channel, node, filters... (the whole new set)
const SET_ROUTES = `
local want = {}
for i = 3, #ARGV do want[ARGV[i]] = true end
local have = {}
for _, f in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  have[f] = true
  if not want[f] then
    redis.call('SREM', KEYS[1], f)
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
// KEYS[1] clients hash; ARGV: clientid, node → the previous node or nil
const REGISTER_CLIENT = `
local prev = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return prev`;
// KEYS[1] clients hash; ARGV: node, clientids... → how many were removed
const UNREGISTER_CLIENTS = `
local n = 0
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then n = n + redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return n`;
// KEYS[1] retained hash; ARGV: topic, channel[, value] (no value: delete)
const SET_RETAINED = `
if ARGV[3] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  redis.call('PUBLISH', ARGV[2], struct.pack('>BI4', 1, #ARGV[1]) .. ARGV[1] .. ARGV[3])
elseif redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('PUBLISH', ARGV[2], struct.pack('>BI4', 0, #ARGV[1]) .. ARGV[1])
end
return 0`;
// KEYS[1] config hash; ARGV: field, json, mode, channel, kind → 1 if stored. mode: 'create'
// (only if absent), 'update' (only if present) or 'set'.
const PUT_CONFIG = `
if ARGV[3] == 'create' then
  if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
else
  if ARGV[3] == 'update' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`;
// KEYS[1] config hash; ARGV: field, channel, kind → 1 if deleted
const DELETE_CONFIG = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;
// KEYS[1] banned hash; ARGV: now (epoch seconds), channel → how many were removed.
// A malformed entry is left alone (banned() skips it with a warning).
const PURGE_BANNED = `
local now = tonumber(ARGV[1])
local flat = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #flat, 2 do
  local ok, e = pcall(cjson.decode, flat[i + 1])
  if ok and type(e) == 'table' and type(e['until']) == 'number' and e['until'] <= now then
    n = n + redis.call('HDEL', KEYS[1], flat[i])
  end
end
if n > 0 then redis.call('PUBLISH', ARGV[2], 'banned') end
return n`;

type Arg = string | Buffer;
/** The scripts above, as ioredis defineCommand() adds them (EVALSHA, EVAL after a Redis restart). */
interface Scripts {
  starlingAddRoute(key: string, filter: string, channel: string, message: string): Promise<unknown>;
  starlingDeleteRoute(key: string, filter: string, channel: string, message: string): Promise<unknown>;
  starlingSetRoutes(key: string, channel: string, node: string, ...filters: string[]): Promise<unknown>;
  starlingRegisterClient(key: string, clientid: string, node: string): Promise<string | null>;
  starlingUnregisterClients(key: string, node: string, ...clientids: string[]): Promise<number>;
  starlingSetRetained(key: string, topic: string, channel: string, ...value: Arg[]): Promise<unknown>;
  starlingPutConfig(key: string, field: string, json: string, mode: 'create' | 'update' | 'set', channel: string, kind: ConfigKind): Promise<number>;
  starlingDeleteConfig(key: string, field: string, channel: string, kind: ConfigKind): Promise<number>;
  starlingPurgeBanned(key: string, nowSec: string, channel: string): Promise<number>;
}

const BATCH = 1000;
const DEFAULT_START_TIMEOUT_MS = 10_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

export class RedisStore implements ClusterStore {
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly scripts: Scripts;
  private readonly log: Logger | undefined;
  private readonly url: string;
  private readonly startTimeoutMs: number;
  private readonly k: {
    nodes: string;
    clients: string;
    retained: string;
    apps: string;
    banned: string;
    routesPrefix: string;
    purgePrefix: string;
    routesChannel: string;
    retainedChannel: string;
    configChannel: string;
  };

  private readonly routeCbs: ((change: RouteChange) => void)[] = [];
  private readonly retainedCbs: ((topic: string, encoded: Uint8Array | null) => void)[] = [];
  private readonly configCbs: ((what: ConfigKind) => void)[] = [];
  private readonly reconnectCbs: (() => void)[] = [];

  private startPromise: Promise<void> | undefined;
  private closed = false;
  /** the subscriber's SUBSCRIBE has been confirmed on its current connection */
  private subscribed = false;
  /** bumped on every subscriber (re)connection, so a stale SUBSCRIBE reply is ignored */
  private subEpoch = 0;
  /** `connected` as last acted upon */
  private up = false;
  private everUp = false;
  private readonly upWaiters = new Set<() => void>();
  private lastError: Error | undefined;

  constructor(opts: RedisStoreOptions) {
    const prefix = opts.prefix ?? 'starling';
    this.k = {
      nodes: `${prefix}:nodes`,
      clients: `${prefix}:clients`,
      retained: `${prefix}:retained`,
      apps: `${prefix}:apps`,
      banned: `${prefix}:banned`,
      routesPrefix: `${prefix}:routes:`,
      purgePrefix: `${prefix}:purge:`,
      routesChannel: `${prefix}:routes`,
      retainedChannel: `${prefix}:retained`,
      configChannel: `${prefix}:config`,
    };
    this.log = opts.log?.child({ component: 'redis-store' });
    this.url = redact(opts.url);
    this.startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;

    const common: RedisOptions = {
      lazyConnect: true, // start() connects, so callbacks can be registered first
      enableOfflineQueue: false, // while away: reject at once, never queue
      maxRetriesPerRequest: 0, // fail in-flight commands when the connection drops
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false, // done by hand, see onSubscriberReady()
      commandTimeout: opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      connectTimeout: 2_000,
      keepAlive: 10_000,
      retryStrategy: (times: number) => Math.min(250 * times, 1_000), // forever
    };
    this.cmd = new Redis(opts.url, { ...common, connectionName: `${prefix}-store` });
    this.sub = new Redis(opts.url, { ...common, connectionName: `${prefix}-store-sub` });

    this.cmd.defineCommand('starlingAddRoute', { numberOfKeys: 1, lua: ADD_ROUTE });
    this.cmd.defineCommand('starlingDeleteRoute', { numberOfKeys: 1, lua: DELETE_ROUTE });
    this.cmd.defineCommand('starlingSetRoutes', { numberOfKeys: 1, lua: SET_ROUTES });
    this.cmd.defineCommand('starlingRegisterClient', { numberOfKeys: 1, lua: REGISTER_CLIENT });
    this.cmd.defineCommand('starlingUnregisterClients', { numberOfKeys: 1, lua: UNREGISTER_CLIENTS });
    this.cmd.defineCommand('starlingSetRetained', { numberOfKeys: 1, lua: SET_RETAINED });
    this.cmd.defineCommand('starlingPutConfig', { numberOfKeys: 1, lua: PUT_CONFIG });
    this.cmd.defineCommand('starlingDeleteConfig', { numberOfKeys: 1, lua: DELETE_CONFIG });
    this.cmd.defineCommand('starlingPurgeBanned', { numberOfKeys: 1, lua: PURGE_BANNED });
    this.scripts = this.cmd as unknown as Scripts;

    this.watch(this.cmd, 'command');
    this.watch(this.sub, 'subscriber');
    this.cmd.on('ready', () => this.update());
    this.sub.on('ready', () => this.onSubscriberReady());
    this.sub.on('close', () => {
      this.subEpoch++;
      this.subscribed = false;
      this.update();
    });
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel.toString(), message));
  }

  // lifecycle

  /** Connects; rejects if Redis cannot be reached within startTimeoutMs (the store is then closed). */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('RedisStore is closed'));
    this.startPromise ??= this.connectBoth();
    return this.startPromise;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.up = false;
    for (const w of [...this.upWaiters]) w(); // start() sees `closed` and rejects
    await Promise.all([disconnect(this.cmd), disconnect(this.sub)]);
  }

  onReconnect(cb: () => void): void {
    this.reconnectCbs.push(cb);
  }

  get connected(): boolean {
    return !this.closed && this.cmd.status === 'ready' && this.sub.status === 'ready' && this.subscribed;
  }

  // membership

  heartbeat(node: NodeRecord, _ttlMs: number): Promise<void> {
    const record: NodeRecord = { name: node.name, heartbeatAt: node.heartbeatAt, startedAt: node.startedAt };
    return this.call('heartbeat', async () => {
      await this.cmd.hset(this.k.nodes, node.name, JSON.stringify(record));
    });
  }

  deregister(node: string): Promise<void> {
    return this.call('deregister', async () => {
      await this.cmd.hdel(this.k.nodes, node);
    });
  }

  nodes(): Promise<NodeRecord[]> {
    return this.call('nodes', async () => {
      const all = await this.cmd.hgetall(this.k.nodes);
      const out: NodeRecord[] = [];
      for (const [name, json] of Object.entries(all)) {
        const r = parseNodeRecord(json);
        if (r) out.push(r);
        else this.log?.warn({ node: name }, 'ignoring a malformed node record');
      }
      return out;
    });
  }

  claimPurge(dead: string, by: string, ttlMs: number): Promise<boolean> {
    return this.call('claimPurge', async () => {
      const ok = await this.cmd.set(this.k.purgePrefix + dead, by, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
      return ok === 'OK';
    });
  }

  purgeNode(dead: string): Promise<void> {
    return this.call('purgeNode', async () => {
      await this.scripts.starlingSetRoutes(this.k.routesPrefix + dead, this.k.routesChannel, dead);
      // HSCAN, then compare-and-delete in a script: a client that registered on another
      // node between the scan and the delete keeps its new registration.
      let cursor = '0';
      do {
        const [next, flat] = await this.cmd.hscan(this.k.clients, cursor, 'COUNT', BATCH);
        cursor = next;
        const ids: string[] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i + 1] === dead) ids.push(flat[i]!);
        if (ids.length) await this.scripts.starlingUnregisterClients(this.k.clients, dead, ...ids);
      } while (cursor !== '0');
      // The record last: a purge cut short leaves the node listed, so it can be retried.
      await this.cmd.hdel(this.k.nodes, dead);
    });
  }

  // routes

  addRoute(node: string, filter: string): Promise<void> {
    const msg = JSON.stringify({ op: 'add', node, filter } satisfies RouteChange);
    return this.call('addRoute', async () => {
      await this.scripts.starlingAddRoute(this.k.routesPrefix + node, filter, this.k.routesChannel, msg);
    });
  }

  deleteRoute(node: string, filter: string): Promise<void> {
    const msg = JSON.stringify({ op: 'delete', node, filter } satisfies RouteChange);
    return this.call('deleteRoute', async () => {
      await this.scripts.starlingDeleteRoute(this.k.routesPrefix + node, filter, this.k.routesChannel, msg);
    });
  }

  setRoutes(node: string, filters: string[]): Promise<void> {
    return this.call('setRoutes', async () => {
      await this.scripts.starlingSetRoutes(this.k.routesPrefix + node, this.k.routesChannel, node, ...filters);
    });
  }

  routes(): Promise<{ node: string; filter: string }[]> {
    return this.call('routes', async () => {
      // Every route set, found by SCAN: a set left by a node that is no longer in P:nodes
      // (a purge cut short) is still part of the table.
      const keys = new Set<string>();
      const match = escapeGlob(this.k.routesPrefix) + '*';
      let cursor = '0';
      do {
        const [next, batch] = await this.cmd.scan(cursor, 'MATCH', match, 'COUNT', BATCH);
        cursor = next;
        for (const key of batch) keys.add(key);
      } while (cursor !== '0');
      if (keys.size === 0) return [];
      const ordered = [...keys];
      const pipe = this.cmd.pipeline();
      for (const key of ordered) pipe.smembers(key);
      const results = await execPipeline<string[]>(pipe);
      const out: { node: string; filter: string }[] = [];
      ordered.forEach((key, i) => {
        const node = key.slice(this.k.routesPrefix.length);
        for (const filter of results[i]!) out.push({ node, filter });
      });
      return out;
    });
  }

  onRouteChange(cb: (change: RouteChange) => void): void {
    this.routeCbs.push(cb);
  }

  // client registry

  registerClient(clientid: string, node: string): Promise<string | undefined> {
    return this.call('registerClient', async () => {
      const prev = await this.scripts.starlingRegisterClient(this.k.clients, clientid, node);
      return prev !== null && prev !== node ? prev : undefined;
    });
  }

  unregisterClient(clientid: string, node: string): Promise<void> {
    return this.call('unregisterClient', async () => {
      await this.scripts.starlingUnregisterClients(this.k.clients, node, clientid);
    });
  }

  lookupClient(clientid: string): Promise<string | undefined> {
    return this.call('lookupClient', async () => (await this.cmd.hget(this.k.clients, clientid)) ?? undefined);
  }

  registerClients(clientids: string[], node: string): Promise<void> {
    return this.call('registerClients', async () => {
      if (clientids.length === 0) return;
      const pipe = this.cmd.pipeline();
      for (let i = 0; i < clientids.length; i += BATCH) {
        const pairs: string[] = [];
        for (const id of clientids.slice(i, i + BATCH)) pairs.push(id, node);
        pipe.hset(this.k.clients, ...pairs);
      }
      await execPipeline(pipe);
    });
  }

  // retained

  setRetained(topic: string, encoded: Uint8Array | null): Promise<void> {
    // Copied now: the caller may reuse its buffer before the command is written.
    const value = encoded === null ? [] : [Buffer.from(encoded)];
    return this.call('setRetained', async () => {
      await this.scripts.starlingSetRetained(this.k.retained, topic, this.k.retainedChannel, ...value);
    });
  }

  retained(): Promise<Map<string, Uint8Array>> {
    return this.call('retained', async () => {
      const all = await this.cmd.hgetallBuffer(this.k.retained);
      const out = new Map<string, Uint8Array>();
      // Copies: the reply's buffers may be views into a larger socket chunk, kept alive by them.
      for (const [topic, value] of Object.entries(all)) out.set(topic, Buffer.from(value));
      return out;
    });
  }

  onRetainedChange(cb: (topic: string, encoded: Uint8Array | null) => void): void {
    this.retainedCbs.push(cb);
  }

  // cluster configuration

  apps(): Promise<AppRecord[]> {
    return this.call('apps', async () => {
      const out: AppRecord[] = [];
      for (const [appid, json] of Object.entries(await this.cmd.hgetall(this.k.apps))) {
        const app = asAppRecord(parseJson(json));
        if (app && app.appid === appid) out.push(app);
        else this.log?.warn({ appid }, 'ignoring a malformed app record');
      }
      return out.sort(compareApps);
    });
  }

  putApp(app: AppRecord, mode: 'create' | 'update'): Promise<boolean> {
    const json = JSON.stringify(copyApp(app));
    return this.call('putApp', async () => {
      return (await this.scripts.starlingPutConfig(this.k.apps, app.appid, json, mode, this.k.configChannel, 'apps')) === 1;
    });
  }

  deleteApp(appid: string): Promise<boolean> {
    return this.call('deleteApp', async () => {
      return (await this.scripts.starlingDeleteConfig(this.k.apps, appid, this.k.configChannel, 'apps')) === 1;
    });
  }

  banned(): Promise<BannedEntry[]> {
    return this.call('banned', async () => {
      const out: BannedEntry[] = [];
      for (const [key, json] of Object.entries(await this.cmd.hgetall(this.k.banned))) {
        const entry = asBannedEntry(parseJson(json));
        if (entry && bannedKey(entry.as, entry.who) === key) out.push(entry);
        else this.log?.warn({ key }, 'ignoring a malformed banned entry');
      }
      return out.sort(compareBanned);
    });
  }

  addBanned(entry: BannedEntry): Promise<void> {
    const e = copyBanned(entry);
    const json = JSON.stringify(e);
    return this.call('addBanned', async () => {
      await this.scripts.starlingPutConfig(this.k.banned, bannedKey(e.as, e.who), json, 'set', this.k.configChannel, 'banned');
    });
  }

  deleteBanned(as: BannedAs, who: string): Promise<boolean> {
    return this.call('deleteBanned', async () => {
      return (await this.scripts.starlingDeleteConfig(this.k.banned, bannedKey(as, who), this.k.configChannel, 'banned')) === 1;
    });
  }

  purgeExpiredBanned(nowSec: number): Promise<number> {
    return this.call('purgeExpiredBanned', async () => {
      if (!Number.isFinite(nowSec)) throw new Error(`nowSec must be a finite number, got ${nowSec}`);
      return Number(await this.scripts.starlingPurgeBanned(this.k.banned, String(nowSec), this.k.configChannel));
    });
  }

  onConfigChange(cb: (what: ConfigKind) => void): void {
    this.configCbs.push(cb);
  }

  // internals

  /** Runs a command; its errors name the operation (the ioredis ones alone are cryptic). */
  private async call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error(`RedisStore.${op}: the store is closed`);
    try {
      return await fn();
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      const state = this.connected ? '' : ' (Redis unavailable)';
      throw new Error(`RedisStore.${op}${state}: ${why}`, { cause: err });
    }
  }

  private async connectBoth(): Promise<void> {
    const upNow = new Promise<void>((resolve) => {
      const w = () => {
        this.upWaiters.delete(w);
        resolve();
      };
      this.upWaiters.add(w);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.startTimeoutMs);
    });
    // connect() rejects on a failed first attempt, but the retry strategy keeps trying.
    this.cmd.connect().catch(() => {});
    this.sub.connect().catch(() => {});
    const outcome = await Promise.race([upNow, timeout]);
    clearTimeout(timer);
    if (this.closed) throw new Error('RedisStore closed while starting');
    if (outcome === 'timeout') {
      const last = this.lastError ? ` (last error: ${this.lastError.message})` : '';
      await this.close();
      throw new Error(`RedisStore: no connection to Redis at ${this.url} within ${this.startTimeoutMs} ms${last}`);
    }
  }

  private onSubscriberReady(): void {
    const epoch = ++this.subEpoch;
    this.sub.subscribe(this.k.routesChannel, this.k.retainedChannel, this.k.configChannel).then(
      () => {
        if (epoch !== this.subEpoch || this.closed) return;
        this.subscribed = true;
        this.update();
      },
      (err: Error) => {
        if (epoch !== this.subEpoch || this.closed) return;
        // Connected but not subscribed (e.g. timed out): reconnect and try again.
        this.log?.warn({ err }, 'Redis SUBSCRIBE failed; reconnecting the subscriber');
        this.sub.disconnect(true);
      },
    );
  }

  /** Acts on a change of `connected`: wakes start(), logs, runs onReconnect callbacks. */
  private update(): void {
    const now = this.connected;
    if (now === this.up) return;
    this.up = now;
    if (!now) {
      if (this.everUp && !this.closed) this.log?.warn({ url: this.url }, 'lost connection to Redis');
      return;
    }
    for (const w of [...this.upWaiters]) w();
    if (!this.everUp) {
      this.everUp = true;
      this.log?.info({ url: this.url }, 'connected to Redis');
      return;
    }
    this.log?.info({ url: this.url }, 'reconnected to Redis');
    for (const cb of this.reconnectCbs) {
      this.safely('onReconnect', () => {
        const r: unknown = cb();
        // An async callback's rejection must not become an unhandled rejection.
        if (r instanceof Promise) r.catch((err: unknown) => this.log?.error({ err }, 'onReconnect callback failed'));
      });
    }
  }

  private watch(conn: Redis, role: string): void {
    let reported = false; // one warning per outage, not one per reconnect attempt
    conn.on('error', (err: Error) => {
      this.lastError = err;
      if (this.closed) return;
      if (!reported) this.log?.warn({ err: err.message, role }, 'Redis connection error');
      else this.log?.debug({ err: err.message, role }, 'Redis connection error');
      reported = true;
    });
    conn.on('ready', () => {
      reported = false;
    });
    conn.on('close', () => this.update());
  }

  private onMessage(channel: string, message: Buffer): void {
    if (this.closed) return;
    if (channel === this.k.routesChannel) {
      const change = parseRouteChange(message.toString());
      if (!change) return void this.log?.warn({ message: message.toString() }, 'ignoring a malformed route change');
      for (const cb of this.routeCbs) this.safely('onRouteChange', () => cb({ ...change }));
    } else if (channel === this.k.retainedChannel) {
      const decoded = decodeRetainedFrame(message);
      if (!decoded) return void this.log?.warn({ bytes: message.length }, 'ignoring a malformed retained change');
      for (const cb of this.retainedCbs) this.safely('onRetainedChange', () => cb(decoded.topic, decoded.value));
    } else if (channel === this.k.configChannel) {
      const what = message.toString();
      if (what !== 'apps' && what !== 'banned') return void this.log?.warn({ message: what }, 'ignoring a malformed config change');
      for (const cb of this.configCbs) this.safely('onConfigChange', () => cb(what));
    }
  }

  /** A throwing callback must not keep the others from being told, nor crash the process. */
  private safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (this.log) this.log.error({ err }, `${what} callback threw`);
      else console.error(`RedisStore: ${what} callback threw`, err);
    }
  }
}

/** Decodes a P:retained message (see the top of this file). */
export function decodeRetainedFrame(frame: Buffer): { topic: string; value: Uint8Array | null } | undefined {
  if (frame.length < 5) return undefined;
  const flag = frame[0];
  const len = frame.readUInt32BE(1);
  if (5 + len > frame.length || (flag !== 0 && flag !== 1)) return undefined;
  const topic = frame.toString('utf8', 5, 5 + len);
  if (flag === 0) return frame.length === 5 + len ? { topic, value: null } : undefined;
  return { topic, value: Buffer.from(frame.subarray(5 + len)) };
}

function parseRouteChange(json: string): RouteChange | undefined {
  try {
    const v = JSON.parse(json) as Partial<RouteChange>;
    if ((v.op === 'add' || v.op === 'delete') && typeof v.node === 'string' && typeof v.filter === 'string') {
      return { op: v.op, node: v.node, filter: v.filter };
    }
  } catch {
    /* malformed */
  }
  return undefined;
}

function parseJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

function parseNodeRecord(json: string): NodeRecord | undefined {
  try {
    const v = JSON.parse(json) as Partial<NodeRecord>;
    if (typeof v.name === 'string' && typeof v.heartbeatAt === 'number' && typeof v.startedAt === 'number') {
      return { name: v.name, heartbeatAt: v.heartbeatAt, startedAt: v.startedAt };
    }
  } catch {
    /* malformed */
  }
  return undefined;
}

/** Pipeline results, or the first command error. */
async function execPipeline<T = unknown>(pipe: ReturnType<Redis['pipeline']>): Promise<T[]> {
  const results = await pipe.exec();
  if (!results) throw new Error('pipeline aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value as T;
  });
}

/** Closes a connection for good; waits (briefly) for the socket to be gone. */
async function disconnect(conn: Redis): Promise<void> {
  const open = conn.status === 'ready' || conn.status === 'connect' || conn.status === 'connecting';
  conn.disconnect();
  if (!open) return; // nothing to wait for: no socket, and the reconnect timer is cleared
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 1_000);
    conn.once('end', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** SCAN MATCH treats * ? [ ] \ specially; a prefix is literal. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/** The URL without its password, for messages and logs. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
