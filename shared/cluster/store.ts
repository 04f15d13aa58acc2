import type { AppRecord, BannedAs, BannedEntry, ConfigKind } from './config-types.js';

/** A change to the cluster route table, as every node is told of it. */
export interface RouteChange {
  op: 'add' | 'delete';
  node: string;
  /** the filter as routed: `t/#`, or `$share/<group>/t/#` for a shared group's members on that node */
  filter: string;
}

export interface NodeRecord {
  name: string;
  /** epoch ms of the last heartbeat */
  heartbeatAt: number;
  startedAt: number;
}

/**
 * What the cluster shares: membership, routes, the client registry, retained messages and
 * the cluster-wide configuration (management API applications, the banned table).
 * Two implementations: in-memory (standalone) and Redis. Every call may reject while the
 * backing service is away; callers keep working locally and resynchronise on reconnect.
 */
export interface ClusterStore {
  start(): Promise<void>;
  close(): Promise<void>;
  /** called after a lost connection comes back (notifications may have been missed) */
  onReconnect(cb: () => void): void;
  readonly connected: boolean;

  // membership
  heartbeat(node: NodeRecord, ttlMs: number): Promise<void>;
  deregister(node: string): Promise<void>;
  /** every registered node, live or not (a dead one stops heartbeating) */
  nodes(): Promise<NodeRecord[]>;
  /** claims the purge of a dead node: true for exactly one caller within `ttlMs` */
  claimPurge(dead: string, by: string, ttlMs: number): Promise<boolean>;
  /** removes a dead node's record, routes (announcing their deletion) and client registrations */
  purgeNode(dead: string): Promise<void>;

  // routes
  addRoute(node: string, filter: string): Promise<void>;
  deleteRoute(node: string, filter: string): Promise<void>;
  /** replaces a node's whole route set (after a reconnect), announcing the differences */
  setRoutes(node: string, filters: string[]): Promise<void>;
  /** the whole table */
  routes(): Promise<{ node: string; filter: string }[]>;
  onRouteChange(cb: (change: RouteChange) => void): void;

  // client registry: clientid → node
  /** registers and returns the node the clientid was registered on before, if another */
  registerClient(clientid: string, node: string): Promise<string | undefined>;
  /** removes the registration only if it still points to `node` */
  unregisterClient(clientid: string, node: string): Promise<void>;
  lookupClient(clientid: string): Promise<string | undefined>;
  /** registers many at once (after a reconnect) */
  registerClients(clientids: string[], node: string): Promise<void>;

  // retained messages: topic → wire-encoded message
  setRetained(topic: string, encoded: Uint8Array | null): Promise<void>;
  retained(): Promise<Map<string, Uint8Array>>;
  onRetainedChange(cb: (topic: string, encoded: Uint8Array | null) => void): void;

  // cluster configuration. Records are copied in and out; a write that changes nothing
  // (a create of an existing appid, a delete of an absent one, a purge removing nothing)
  // announces nothing. After onReconnect, reload: announcements may have been missed.

  /** every application, sorted by appid */
  apps(): Promise<AppRecord[]>;
  /**
   * Atomically: 'create' stores the app only if its appid is absent, 'update' replaces it
   * only if present. False (and nothing changed) otherwise.
   */
  putApp(app: AppRecord, mode: 'create' | 'update'): Promise<boolean>;
  /** false if there was no such app */
  deleteApp(appid: string): Promise<boolean>;
  /** every banned entry, expired ones included until purged, sorted by `as` then `who` (stable pages) */
  banned(): Promise<BannedEntry[]>;
  /**
   * Adds the entry, replacing the one with the same `as` and `who`. Stored as given: the
   * caller normalises (a peerhost `who` in canonical form, defaults filled).
   */
  addBanned(entry: BannedEntry): Promise<void>;
  /** false if there was no such entry; `who` must match the stored one exactly */
  deleteBanned(as: BannedAs, who: string): Promise<boolean>;
  /** removes the entries no longer in force (`until` <= nowSec, epoch seconds); returns how many */
  purgeExpiredBanned(nowSec: number): Promise<number>;
  /**
   * Told, asynchronously and on every instance (the writer's included), which part changed
   * after any change; the receiver reads it back with apps() or banned().
   */
  onConfigChange(cb: (what: ConfigKind) => void): void;
}
