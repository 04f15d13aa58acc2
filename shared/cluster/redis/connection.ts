/**
 * The Redis connections behind every table of the RedisStore (ioredis): one for commands,
 * one subscribed to the tables' notification channels, dispatched to the table that
 * listens on each.
 *
 * Both reconnect forever (250 ms, 500 ms, … capped at 1 s), also after ioredis itself
 * ended one (see watch()). While either is away calls
 * reject at once: no offline queue, commands in flight when the connection drops are failed
 * rather than resent (maxRetriesPerRequest 0, so a script never runs twice; a rejected write
 * may still have been applied, its reply lost, which the resynchronisation after
 * onReconnect covers), and a command timeout bounds a silent network. 'error' events are
 * logged, never thrown. The subscriber re-subscribes by hand on every reconnect so that
 * onReconnect callbacks run only once notifications flow again: a caller reloading state
 * from there on misses nothing.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../logger.js';
import type { StoreConnection } from '../store.js';
import { redactTarget, redisTarget } from './url.js';

export interface RedisStoreOptions {
  /** one server (redis://…), or Sentinel's addresses and master name (redis-sentinel://…, see url.ts) */
  url: string;
  /** key and channel prefix (default 'starling'): several clusters may share one Redis */
  prefix?: string;
  log?: Logger;
  /** start() gives up after this long (default 10 s) */
  startTimeoutMs?: number;
  /** a command without reply after this long rejects (default 5 s): a silent network must not hang callers */
  commandTimeoutMs?: number;
}

const DEFAULT_START_TIMEOUT_MS = 10_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

export class RedisConnection implements StoreConnection {
  /** the command connection, for the tables */
  readonly cmd: Redis;
  private readonly sub: Redis;
  readonly log: Logger | undefined;
  /** `<prefix>:`, before every key and channel name */
  readonly ns: string;
  private readonly url: string;
  private readonly startTimeoutMs: number;
  /** channel → its table's handler, in the order the tables listened */
  private readonly channels = new Map<string, (message: Buffer) => void>();
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
    this.ns = `${prefix}:`;
    this.log = opts.log?.child({ component: 'redis-store' });
    this.url = redactTarget(opts.url);
    const target = redisTarget(opts.url);
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
    if ('sentinel' in target) {
      // Both connections follow the primary Sentinel names: asked on every reconnect, and
      // told of a +switch-master at once (failoverDetector) rather than on the next error.
      Object.assign(common, target.sentinel, {
        failoverDetector: true,
        sentinelRetryStrategy: (times: number) => Math.min(250 * times, 1_000), // forever
        sentinelCommandTimeout: 1_000,
      });
    }
    const make = (connectionName: string) => ('url' in target ? new Redis(target.url, { ...common, connectionName }) : new Redis({ ...common, connectionName }));
    this.cmd = make(`${prefix}-store`);
    this.sub = make(`${prefix}-store-sub`);

    this.watch(this.cmd, 'command');
    this.watch(this.sub, 'subscriber');
    this.cmd.on('ready', () => this.update());
    this.sub.on('ready', () => this.onSubscriberReady());
    this.sub.on('close', () => {
      this.subEpoch++;
      this.subscribed = false;
      this.update();
    });
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (!this.closed) this.channels.get(channel.toString())?.(message);
    });
  }

  /** Has `onMessage` told of every message on `channel`; tables call it before start(). */
  listen(channel: string, onMessage: (message: Buffer) => void): void {
    this.channels.set(channel, onMessage);
  }

  /**
   * Adds a Lua script as the command `name` of the command connection (ioredis sends it
   * with EVALSHA, EVAL after a Redis restart); the table calls it through its typed view of
   * `cmd`.
   */
  script(name: string, lua: string, numberOfKeys = 1): void {
    this.cmd.defineCommand(name, { numberOfKeys, lua });
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

  /** Runs a command; its errors name the operation (the ioredis ones alone are cryptic). */
  async call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error(`RedisStore.${op}: the store is closed`);
    try {
      return await fn();
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      const state = this.connected ? '' : ' (Redis unavailable)';
      throw new Error(`RedisStore.${op}${state}: ${why}`, { cause: err });
    }
  }

  /** A throwing callback must not keep the others from being told, nor crash the process. */
  safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (this.log) this.log.error({ err }, `${what} callback threw`);
      else console.error(`RedisStore: ${what} callback threw`, err);
    }
  }

  // internals

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
    this.sub.subscribe(...this.channels.keys()).then(
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
    // ioredis can end a connection on its own and never retry it: with Sentinel, a
    // +switch-master that arrives while a connect is waiting between sentinel rounds
    // closes that connect for good (status connecting → end). A store that was not closed
    // must keep trying, so connect again; the usual reconnect path then resubscribes and
    // the onReconnect callbacks rewrite what this process owns.
    conn.on('end', () => {
      if (this.closed) return;
      this.log?.warn({ role }, 'Redis connection ended by the client library; connecting again');
      setTimeout(() => {
        if (!this.closed && conn.status === 'end') conn.connect().catch(() => {});
      }, RECONNECT_AFTER_END_MS);
    });
  }
}

/** How long after ioredis gave a connection up it is started again. */
const RECONNECT_AFTER_END_MS = 250;

/** Keys and scans are done in batches of this many. */
export const BATCH = 1000;

/** Pipeline results, or the first command error. */
export async function execPipeline<T = unknown>(pipe: ReturnType<Redis['pipeline']>): Promise<T[]> {
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
