import type { ConfigKind, ConfigRecord } from './config-kinds.js';

/** A change to the cluster route table, as every node is told of it. */
export interface RouteChange {
  op: 'add' | 'delete';
  node: string;
  /** the filter as routed: `t/#`, or `$share/<group>/t/#` for a shared group's members on that node */
  filter: string;
  /** a shared group's member count on that node (an 'add' may carry it; absent: 1) */
  members?: number;
  /** a deletion by the purge of a dead node (not its own unsubscribe) */
  purge?: true;
}

/**
 * One write of a node's routes, in a batch (RouteTable.writeRoutes): a filter added or
 * deleted, or a shared group's member count set (only for a `$share/<group>/<filter>`
 * route the node has at that point of the batch).
 */
export type RouteWrite = { op: 'add' | 'delete'; filter: string } | { op: 'members'; filter: string; members: number };

/** One row of the stored route table. */
export interface StoredRoute {
  node: string;
  filter: string;
  /** a shared group's member count on that node (absent: 1) */
  members?: number;
}

export interface NodeRecord {
  name: string;
  /** epoch ms of the last heartbeat */
  heartbeatAt: number;
  startedAt: number;
}

/** The connection to the backing service, shared by every table. */
export interface StoreConnection {
  start(): Promise<void>;
  close(): Promise<void>;
  /** called after a lost connection comes back (notifications may have been missed) */
  onReconnect(cb: () => void): void;
  readonly connected: boolean;
}

/** Which nodes are in the cluster. */
export interface MembershipTable {
  /**
   * Writes the node's record; true when the store had none (its first heartbeat, or the node
   * was purged as dead meanwhile, its routes and registrations with it)
   */
  heartbeat(node: NodeRecord, ttlMs: number): Promise<boolean>;
  deregister(node: string): Promise<void>;
  /** every registered node, live or not (a dead one stops heartbeating) */
  nodes(): Promise<NodeRecord[]>;
  /** claims the purge of a dead node: true for exactly one caller within `ttlMs` */
  claimPurge(dead: string, by: string, ttlMs: number): Promise<boolean>;
  /**
   * Removes a dead node's routes (announcing their deletion), client registrations and
   * record. With `seen` (the record the caller judged dead) each step runs only while the
   * stored record is still that one: a node that heartbeat since, alive after all or
   * restarted under the same name, keeps what it wrote. False when it stopped for that.
   */
  purgeNode(dead: string, seen?: NodeRecord): Promise<boolean>;
}

/** Topic filter → node, for forwarding. */
export interface RouteTable {
  /**
   * Applies a batch of a node's route writes in order, atomically, and announces the real
   * changes among them in one notice (an add then a delete of one filter both announced,
   * in that order, so they net out). A member count (a 'members' write, announced as an
   * 'add' carrying `members`) weighs a shared group's members on the node in the
   * cluster-wide choice; it is dropped with its route, and one equal to the stored count
   * announces nothing.
   */
  writeRoutes(node: string, writes: RouteWrite[]): Promise<void>;
  /** replaces a node's whole route set (after a reconnect), announcing the differences */
  setRoutes(node: string, filters: string[]): Promise<void>;
  /** the whole table */
  routes(): Promise<StoredRoute[]>;
  /** Told of every announced batch of changes, in order, on every instance (the writer's included). */
  onRouteChanges(cb: (changes: RouteChange[]) => void): void;
}

/** The client registry: clientid → node. */
export interface RegistryTable {
  /** registers and returns the node the clientid was registered on before, if another */
  registerClient(clientid: string, node: string): Promise<string | undefined>;
  /** removes the registration only if it still points to `node` */
  unregisterClient(clientid: string, node: string): Promise<void>;
  lookupClient(clientid: string): Promise<string | undefined>;
  /**
   * Registers many at once (after a reconnect); returns those that were registered on
   * another node: live on two nodes while the store was away, a conflict to resolve.
   */
  registerClients(clientids: string[], node: string): Promise<{ clientid: string; prev: string }[]>;
}

/** Retained messages: topic → wire-encoded message. */
export interface RetainedTable {
  setRetained(topic: string, encoded: Uint8Array | null): Promise<void>;
  retained(): Promise<Map<string, Uint8Array>>;
  onRetainedChange(cb: (topic: string, encoded: Uint8Array | null) => void): void;
}

/** How ConfigTable.configPut stores: only if the key is absent, only if present, or always. */
export type ConfigPutMode = 'create' | 'update' | 'upsert';

/**
 * The cluster configuration: one table per kind (shared/cluster/config-kinds.ts), each
 * keyed by the kind's record key. Records are copied in and out (the kind's `from`); a write
 * that changes nothing (a create of an existing key, an update or delete of an absent one, a
 * purge removing nothing) announces nothing. After onReconnect, reload: announcements may
 * have been missed.
 */
export interface ConfigTable {
  /** every record of the kind, in the kind's order */
  configList<K extends ConfigKind>(kind: K): Promise<ConfigRecord<K>[]>;
  /**
   * Atomically stores the record under its key: 'create' only if the key is absent,
   * 'update' only if present, 'upsert' always (replacing). False (and nothing changed) if
   * the mode refused it. Stored as given: the caller normalises (e.g. a peerhost `who` in
   * canonical form, defaults filled).
   */
  configPut<K extends ConfigKind>(kind: K, record: ConfigRecord<K>, mode: ConfigPutMode): Promise<boolean>;
  /** false if there was no such record; `key` must match the stored one exactly */
  configDelete(kind: ConfigKind, key: string): Promise<boolean>;
  /**
   * Removes the records of a kind that declares an `expiry` field whose value is <= nowSec
   * (epoch seconds), no longer in force; returns how many. Rejects for a kind without one.
   */
  configPurgeExpired(kind: ConfigKind, nowSec: number): Promise<number>;
  /**
   * Told, asynchronously and on every instance (the writer's included), which kind changed
   * after any change; the receiver reads it back with configList().
   */
  onConfigChange(cb: (kind: ConfigKind) => void): void;
}

/**
 * What the cluster shares: membership, routes, the client registry, retained messages and
 * the cluster-wide configuration, one table each. Two implementations: in-memory
 * (standalone) and Redis. Every call may reject while the backing service is away; callers
 * keep working locally and resynchronise on reconnect.
 */
export interface ClusterStore extends StoreConnection, MembershipTable, RouteTable, RegistryTable, RetainedTable, ConfigTable {}
