import type { Logger } from '../../shared/logger.js';
import type { ConfigKind, ConfigRecord } from '../../shared/cluster/config-kinds.js';
import type { ConfigTable, StoreConnection } from '../../shared/cluster/store.js';
import type { BannedList } from '../access/banned.js';

/** How often each node removes expired bans from the store (idempotent; expired bans are not enforced meanwhile). */
const BANNED_PURGE_MS = 5000;

/**
 * Keeps one kind of cluster configuration (shared/cluster/config-kinds.ts) loaded into the
 * node: read whole at start, on every change notice of the kind and after a store
 * reconnect (notices may have been missed), and handed to `apply`. Loads run one at a
 * time, the last change read last. Each kind the node enforces (banned today; modules,
 * rules, ... next) is one of these.
 */
export class ConfigSync<K extends ConfigKind> {
  /** the load in progress, and whether another change came in meanwhile */
  private loading: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly store: ConfigTable & StoreConnection,
    private readonly kind: K,
    private readonly apply: (records: ConfigRecord<K>[]) => void,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.store.onConfigChange((what) => {
      if (what === this.kind) void this.load();
    });
    this.store.onReconnect(() => void this.load());
    await this.load();
  }

  stop(): void {
    this.stopped = true;
  }

  /** Replaces the node's records with the store's; loads run one at a time, the last change read last. */
  load(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        try {
          this.apply(await this.store.configList(this.kind));
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, `could not load the ${this.kind} table; the current one stays`);
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }
}

/**
 * The banned table is cluster configuration (POST /api/v4/banned writes it to the store):
 * loaded at start, on every change notice and after a reconnect, so a ban refuses CONNECT
 * on every node within a second. The broker's STARLING_BANNED_FILE entries seed the store
 * first, so they apply cluster-wide and show in GET /banned. Every node purges expired
 * entries now and then (idempotent; an expired entry is not enforced meanwhile anyway).
 */
export class BannedSync {
  private readonly sync: ConfigSync<'banned'>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ConfigTable & StoreConnection,
    private readonly banned: BannedList,
    private readonly log: Logger,
  ) {
    this.sync = new ConfigSync(store, 'banned', (entries) => banned.replaceAll(entries), log);
  }

  async start(): Promise<void> {
    for (const e of this.banned.list()) await this.store.configPut('banned', e, 'upsert');
    await this.sync.start();
    this.timer = setInterval(() => {
      this.store.configPurgeExpired('banned', Math.floor(Date.now() / 1000)).catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'banned purge failed'));
    }, BANNED_PURGE_MS);
    this.timer.unref();
  }

  stop(): void {
    this.sync.stop();
    clearInterval(this.timer);
  }
}
