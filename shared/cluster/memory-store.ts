/**
 * ClusterStore held in memory, for the standalone mode (one node, no Redis).
 *
 * It behaves like the Redis store as far as a caller can tell: every change is announced
 * asynchronously (queueMicrotask) to every registered callback, the caller's own included,
 * as Redis pub/sub does (a batch of route writes in one notice); a route or retained deletion that removes nothing announces nothing;
 * values are copied in (and configuration records out), so a caller mutating its buffer or
 * record afterwards changes nothing here. A configuration change is announced as its kind
 * only (shared/cluster/config-kinds.ts), once per write that changed something.
 *
 * Several MemoryStore instances may share one MemoryStoreState: they then see each other's
 * data and notifications like nodes on one Redis (used by the contract tests).
 */
import type { Logger } from '../logger.js';
import { configCopy, configExpiry, configKind, type ConfigKind, type ConfigRecord } from './config-kinds.js';
import { DELTA_MAX_CHANGES } from './route-delta.js';
import type { ClusterStore, ConfigPutMode, NodeRecord, RouteChange, RouteWrite, StoredRoute } from './store.js';

/** The data behind one or more MemoryStore instances. */
export class MemoryStoreState {
  readonly nodes = new Map<string, NodeRecord>();
  /** dead node → when its purge claim lapses (epoch ms) */
  readonly purgeClaims = new Map<string, number>();
  readonly routes = new Map<string, Set<string>>();
  /** node → shared route key → member count (absent: 1) */
  readonly sharedMembers = new Map<string, Map<string, number>>();
  readonly clients = new Map<string, string>();
  readonly retained = new Map<string, Uint8Array>();
  /** config kind → record key → record */
  readonly config = new Map<ConfigKind, Map<string, unknown>>();
  /** open instances, told of every change */
  readonly members = new Set<MemoryStore>();
}

export interface MemoryStoreOptions {
  /** share data and notifications with other instances built on the same state */
  state?: MemoryStoreState;
  /** where a throwing notification callback is reported (default: console.error) */
  log?: Logger;
}

export class MemoryStore implements ClusterStore {
  private readonly state: MemoryStoreState;
  private readonly routeCbs: ((changes: RouteChange[]) => void)[] = [];
  private readonly retainedCbs: ((topic: string, encoded: Uint8Array | null) => void)[] = [];
  private readonly configCbs: ((kind: ConfigKind) => void)[] = [];
  private readonly log: Logger | undefined;
  private closed = false;

  constructor(opts: MemoryStoreOptions = {}) {
    this.state = opts.state ?? new MemoryStoreState();
    this.log = opts.log;
    this.state.members.add(this);
  }

  async start(): Promise<void> {
    this.check();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.state.members.delete(this);
  }

  /** never called: memory is never lost */
  onReconnect(_cb: () => void): void {}

  get connected(): boolean {
    return true;
  }

  // membership

  async heartbeat(node: NodeRecord, _ttlMs: number): Promise<boolean> {
    this.check();
    const absent = !this.state.nodes.has(node.name);
    this.state.nodes.set(node.name, { name: node.name, heartbeatAt: node.heartbeatAt, startedAt: node.startedAt });
    return absent;
  }

  async deregister(node: string): Promise<void> {
    this.check();
    this.state.nodes.delete(node);
  }

  async nodes(): Promise<NodeRecord[]> {
    this.check();
    return [...this.state.nodes.values()].map((n) => ({ ...n }));
  }

  async claimPurge(dead: string, _by: string, ttlMs: number): Promise<boolean> {
    this.check();
    const now = Date.now();
    const until = this.state.purgeClaims.get(dead);
    if (until !== undefined && until > now) return false;
    this.state.purgeClaims.set(dead, now + ttlMs);
    return true;
  }

  async purgeNode(dead: string, seen?: NodeRecord): Promise<boolean> {
    this.check();
    // A record written since `seen` (the node back): nothing is purged, as in the Redis store.
    const now = this.state.nodes.get(dead);
    if (seen && now && now.heartbeatAt !== seen.heartbeatAt) return false;
    this.replaceRoutes(dead, [], true);
    for (const [clientid, node] of this.state.clients) if (node === dead) this.state.clients.delete(clientid);
    this.state.nodes.delete(dead);
    return true;
  }

  // routes

  async writeRoutes(node: string, writes: RouteWrite[]): Promise<void> {
    this.check();
    const changes: RouteChange[] = [];
    for (const w of writes) {
      const set = this.state.routes.get(node);
      if (w.op === 'add') {
        if (set?.has(w.filter)) continue;
        if (set) set.add(w.filter);
        else this.state.routes.set(node, new Set([w.filter]));
        changes.push({ op: 'add', node, filter: w.filter });
      } else if (w.op === 'delete') {
        if (!set?.delete(w.filter)) continue;
        if (set.size === 0) this.state.routes.delete(node);
        this.dropMembers(node, w.filter);
        changes.push({ op: 'delete', node, filter: w.filter });
      } else if (w.op === 'members' && set?.has(w.filter)) {
        let counts = this.state.sharedMembers.get(node);
        if (!counts) this.state.sharedMembers.set(node, (counts = new Map()));
        if (counts.get(w.filter) === w.members) continue;
        counts.set(w.filter, w.members);
        changes.push({ op: 'add', node, filter: w.filter, members: w.members });
      }
    }
    this.announceRoutes(changes);
  }

  async setRoutes(node: string, filters: string[]): Promise<void> {
    this.check();
    this.replaceRoutes(node, filters);
  }

  async routes(): Promise<StoredRoute[]> {
    this.check();
    const out: StoredRoute[] = [];
    for (const [node, set] of this.state.routes) {
      const counts = this.state.sharedMembers.get(node);
      for (const filter of set) {
        const members = counts?.get(filter);
        out.push(members === undefined ? { node, filter } : { node, filter, members });
      }
    }
    return out;
  }

  onRouteChanges(cb: (changes: RouteChange[]) => void): void {
    this.routeCbs.push(cb);
  }

  // client registry

  async registerClient(clientid: string, node: string): Promise<string | undefined> {
    this.check();
    const prev = this.state.clients.get(clientid);
    this.state.clients.set(clientid, node);
    return prev !== node ? prev : undefined;
  }

  async unregisterClient(clientid: string, node: string): Promise<void> {
    this.check();
    if (this.state.clients.get(clientid) === node) this.state.clients.delete(clientid);
  }

  async lookupClient(clientid: string): Promise<string | undefined> {
    this.check();
    return this.state.clients.get(clientid);
  }

  async registerClients(clientids: string[], node: string): Promise<{ clientid: string; prev: string }[]> {
    this.check();
    const conflicts: { clientid: string; prev: string }[] = [];
    for (const id of clientids) {
      const prev = this.state.clients.get(id);
      if (prev !== undefined && prev !== node) conflicts.push({ clientid: id, prev });
      this.state.clients.set(id, node);
    }
    return conflicts;
  }

  // retained

  async setRetained(topic: string, encoded: Uint8Array | null): Promise<void> {
    this.check();
    if (encoded === null) {
      if (!this.state.retained.delete(topic)) return;
      this.announceRetained(topic, null);
      return;
    }
    const copy = new Uint8Array(encoded); // the caller may reuse its buffer
    this.state.retained.set(topic, copy);
    this.announceRetained(topic, copy);
  }

  async retained(): Promise<Map<string, Uint8Array>> {
    this.check();
    return new Map(this.state.retained);
  }

  onRetainedChange(cb: (topic: string, encoded: Uint8Array | null) => void): void {
    this.retainedCbs.push(cb);
  }

  // cluster configuration

  async configList<K extends ConfigKind>(kind: K): Promise<ConfigRecord<K>[]> {
    this.check();
    const spec = configKind(kind);
    return [...this.table(kind).values()].map((r) => configCopy(kind, r as ConfigRecord<K>)).sort(spec.compare);
  }

  async configPut<K extends ConfigKind>(kind: K, record: ConfigRecord<K>, mode: ConfigPutMode): Promise<boolean> {
    this.check();
    const copy = configCopy(kind, record);
    const key = configKind(kind).key(copy);
    const table = this.table(kind);
    if (mode !== 'upsert' && table.has(key) !== (mode === 'update')) return false;
    table.set(key, copy);
    this.announceConfig(kind);
    return true;
  }

  async configDelete(kind: ConfigKind, key: string): Promise<boolean> {
    this.check();
    if (!this.table(kind).delete(key)) return false;
    this.announceConfig(kind);
    return true;
  }

  async configPurgeExpired(kind: ConfigKind, nowSec: number): Promise<number> {
    this.check();
    const field = configExpiry(kind, nowSec);
    const table = this.table(kind);
    let n = 0;
    for (const [key, record] of table) {
      if ((record as Record<string, number>)[field]! <= nowSec) {
        table.delete(key);
        n++;
      }
    }
    if (n > 0) this.announceConfig(kind);
    return n;
  }

  onConfigChange(cb: (kind: ConfigKind) => void): void {
    this.configCbs.push(cb);
  }

  // internals

  private check(): void {
    // Same as the Redis store, so a shutdown-order bug shows in standalone mode too.
    if (this.closed) throw new Error('MemoryStore is closed');
  }

  private table(kind: ConfigKind): Map<string, unknown> {
    let table = this.state.config.get(kind);
    if (!table) this.state.config.set(kind, (table = new Map()));
    return table;
  }

  private replaceRoutes(node: string, filters: string[], purge = false): void {
    const want = new Set(filters);
    const have = this.state.routes.get(node) ?? new Set<string>();
    const changes: RouteChange[] = [];
    for (const filter of have) {
      if (want.has(filter)) continue;
      this.dropMembers(node, filter);
      changes.push(purge ? { op: 'delete', node, filter, purge } : { op: 'delete', node, filter });
    }
    for (const filter of want) if (!have.has(filter)) changes.push({ op: 'add', node, filter });
    if (want.size) this.state.routes.set(node, want);
    else this.state.routes.delete(node);
    this.announceRoutes(changes);
  }

  private dropMembers(node: string, key: string): void {
    const counts = this.state.sharedMembers.get(node);
    if (counts?.delete(key) && counts.size === 0) this.state.sharedMembers.delete(node);
  }

  /** One notice per batch, as the Redis store's route-delta (in notices of DELTA_MAX_CHANGES at most). */
  private announceRoutes(all: RouteChange[]): void {
    for (let i = 0; i < all.length; i += DELTA_MAX_CHANGES) this.announceDelta(all.slice(i, i + DELTA_MAX_CHANGES));
  }

  private announceDelta(changes: RouteChange[]): void {
    for (const m of this.state.members) {
      // Each receiver gets its own copy; one microtask per batch keeps the order.
      queueMicrotask(() => {
        if (m.closed) return;
        for (const cb of m.routeCbs) m.safely(() => cb(changes.map((c) => ({ ...c }))));
      });
    }
  }

  private announceRetained(topic: string, encoded: Uint8Array | null): void {
    for (const m of this.state.members) {
      queueMicrotask(() => {
        if (m.closed) return;
        for (const cb of m.retainedCbs) m.safely(() => cb(topic, encoded));
      });
    }
  }

  private announceConfig(kind: ConfigKind): void {
    for (const m of this.state.members) {
      queueMicrotask(() => {
        if (m.closed) return;
        for (const cb of m.configCbs) m.safely(() => cb(kind));
      });
    }
  }

  /** A throwing callback must not keep the others from being told, nor crash the process. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (this.log) this.log.error({ err }, 'cluster store notification callback threw');
      else console.error('MemoryStore: notification callback threw', err);
    }
  }
}
