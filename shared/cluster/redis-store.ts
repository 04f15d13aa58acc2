/**
 * ClusterStore on Redis (ioredis), for the clustered mode: one table per file under redis/,
 * each with its key layout and Lua scripts beside it, over one RedisConnection:
 *
 *   redis/membership.ts   P:nodes, P:purge:<dead> (purge-guard.ts: a purge stops for a node back)
 *   redis/routes.ts       P:routes:<node>, P:shared-members:<node>, channel P:routes
 *   redis/registry.ts     P:clients
 *   redis/retained.ts     P:retained, channel P:retained
 *   redis/config.ts       P:apps, P:banned, P:config:<kind>, channel P:config
 *   redis/connection.ts   the command and subscriber connections, reconnects, dispatch
 *
 * (P = prefix, default 'starling'.) Every write that announces something is one Lua script
 * doing the change and its PUBLISH, so announcements come in the order the changes were
 * applied, and only real changes are announced. Scripts also give the compare-and-set
 * operations (the client registry's, configPut's create and update).
 */
import type { ConfigKind, ConfigRecord } from './config-kinds.js';
import { RedisConfig } from './redis/config.js';
import { RedisConnection, type RedisStoreOptions } from './redis/connection.js';
import { RedisMembership } from './redis/membership.js';
import { RedisRegistry } from './redis/registry.js';
import { RedisRetained } from './redis/retained.js';
import { RedisRoutes } from './redis/routes.js';
import type { ClusterStore, ConfigPutMode, NodeRecord, RouteChange, RouteWrite, StoredRoute } from './store.js';

export type { RedisStoreOptions };

export class RedisStore implements ClusterStore {
  private readonly conn: RedisConnection;
  private readonly membershipTable: RedisMembership;
  private readonly routeTable: RedisRoutes;
  private readonly registryTable: RedisRegistry;
  private readonly retainedTable: RedisRetained;
  private readonly configTable: RedisConfig;

  constructor(opts: RedisStoreOptions) {
    this.conn = new RedisConnection(opts);
    // Built in this order, they subscribe to their channels in it: routes, retained, config.
    this.routeTable = new RedisRoutes(this.conn);
    this.registryTable = new RedisRegistry(this.conn);
    this.membershipTable = new RedisMembership(this.conn, this.routeTable, this.registryTable);
    this.retainedTable = new RedisRetained(this.conn);
    this.configTable = new RedisConfig(this.conn);
  }

  // connection

  /** Connects; rejects if Redis cannot be reached within startTimeoutMs (the store is then closed). */
  start(): Promise<void> {
    return this.conn.start();
  }
  close(): Promise<void> {
    return this.conn.close();
  }
  onReconnect(cb: () => void): void {
    this.conn.onReconnect(cb);
  }
  get connected(): boolean {
    return this.conn.connected;
  }

  // membership

  heartbeat(node: NodeRecord, ttlMs: number): Promise<boolean> {
    return this.membershipTable.heartbeat(node, ttlMs);
  }
  deregister(node: string): Promise<void> {
    return this.membershipTable.deregister(node);
  }
  nodes(): Promise<NodeRecord[]> {
    return this.membershipTable.nodes();
  }
  claimPurge(dead: string, by: string, ttlMs: number): Promise<boolean> {
    return this.membershipTable.claimPurge(dead, by, ttlMs);
  }
  purgeNode(dead: string, seen?: NodeRecord): Promise<boolean> {
    return this.membershipTable.purgeNode(dead, seen);
  }

  // routes

  writeRoutes(node: string, writes: RouteWrite[]): Promise<void> {
    return this.routeTable.writeRoutes(node, writes);
  }
  setRoutes(node: string, filters: string[]): Promise<void> {
    return this.routeTable.setRoutes(node, filters);
  }
  routes(): Promise<StoredRoute[]> {
    return this.routeTable.routes();
  }
  onRouteChanges(cb: (changes: RouteChange[]) => void): void {
    this.routeTable.onRouteChanges(cb);
  }

  // client registry

  registerClient(clientid: string, node: string): Promise<string | undefined> {
    return this.registryTable.registerClient(clientid, node);
  }
  unregisterClient(clientid: string, node: string): Promise<void> {
    return this.registryTable.unregisterClient(clientid, node);
  }
  lookupClient(clientid: string): Promise<string | undefined> {
    return this.registryTable.lookupClient(clientid);
  }
  registerClients(clientids: string[], node: string): Promise<{ clientid: string; prev: string }[]> {
    return this.registryTable.registerClients(clientids, node);
  }

  // retained

  setRetained(topic: string, encoded: Uint8Array | null): Promise<void> {
    return this.retainedTable.setRetained(topic, encoded);
  }
  retained(): Promise<Map<string, Uint8Array>> {
    return this.retainedTable.retained();
  }
  onRetainedChange(cb: (topic: string, encoded: Uint8Array | null) => void): void {
    this.retainedTable.onRetainedChange(cb);
  }

  // cluster configuration

  configList<K extends ConfigKind>(kind: K): Promise<ConfigRecord<K>[]> {
    return this.configTable.configList(kind);
  }
  configPut<K extends ConfigKind>(kind: K, record: ConfigRecord<K>, mode: ConfigPutMode): Promise<boolean> {
    return this.configTable.configPut(kind, record, mode);
  }
  configDelete(kind: ConfigKind, key: string): Promise<boolean> {
    return this.configTable.configDelete(kind, key);
  }
  configPurgeExpired(kind: ConfigKind, nowSec: number): Promise<number> {
    return this.configTable.configPurgeExpired(kind, nowSec);
  }
  onConfigChange(cb: (kind: ConfigKind) => void): void {
    this.configTable.onConfigChange(cb);
  }
}
