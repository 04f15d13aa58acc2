import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { Message } from '../../shared/message.js';
import type { ClusterStore } from '../../shared/cluster/store.js';
import type { ForwardTarget, Transport } from './forwarding/transport.js';
import { decodeMessage, encodeMessage } from '../../shared/cluster/message-codec.js';
import type { SessionTransfer } from '../../shared/api/session.js';
import type { RpcHandlers } from '../../shared/rpc.js';
import type { Broker } from '../broker.js';
import type { ClusterHooks, ForwardOutcome } from '../core/ports.js';
import { metricIndex } from '../metrics/metrics.js';
import type { PublishEncoder } from '../protocol/codec.js';
import { dispatchRpc, rpcHandlers } from '../rpc/index.js';
import type { FilterEntry } from '../router/router.js';
import { ClusterRoutes, type RemoteEntry } from './routes.js';
import { exportSession } from './session-transfer.js';

const M_FORWARD = metricIndex('messages.forward');
const M_DROPPED = metricIndex('messages.dropped');
/** the target of every non-shared forward (the transport encodes it at once and keeps no reference) */
const ROUTE: ForwardTarget = Object.freeze({ kind: 'route' });
const hasGroups = (e: RemoteEntry): boolean => e.groups !== undefined;
const hasShared = (e: FilterEntry): boolean => e.shared !== undefined;
/** a failed flush is retried when the transport reconnects, or after this pause */
const FLUSH_RETRY_MS = 100;
/** How often each node removes expired bans from the store (idempotent; expired bans are not enforced meanwhile). */
const BANNED_PURGE_MS = 5000;

/**
 * Turns one broker node into a member of a cluster (DESIGN: "Cluster behaviour that must
 * hold"): membership with heartbeats and the purge of dead nodes, the route table shared
 * through the store, forwarding of messages over the transport, the clientid registry
 * with takeover across nodes, retained messages replicated everywhere, and the node's RPC
 * service. Standalone, the same code runs over the in-process transport and memory store.
 */
export class Cluster implements ClusterHooks {
  readonly routes: ClusterRoutes;
  /** other nodes whose heartbeat is fresh */
  private live = new Set<string>();
  /** the last heartbeat seen of each live node */
  private readonly lastHeartbeat = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private bannedTimer: NodeJS.Timeout | undefined;
  /** the banned table load in progress, and whether another change came in meanwhile */
  private bannedLoad: Promise<void> | undefined;
  private bannedAgain = false;
  private stopped = false;
  /** shared-group forwards to other nodes made by the dispatchShared() call under way */
  private sharedSent = 0;
  private turnFlush: Promise<void> | undefined;
  /** retained topics set while the store was away, written again on reconnect */
  private readonly retainedDirty = new Set<string>();
  private readonly roundRobin = new Map<string, number>();
  private readonly handlers: RpcHandlers;

  constructor(
    private readonly b: Broker,
    readonly transport: Transport,
    readonly store: ClusterStore,
    private readonly cfg: Config,
    private readonly log: Logger,
  ) {
    this.routes = new ClusterRoutes(b.nodeName);
    this.handlers = rpcHandlers(b, { 'session.takeover': (p) => this.giveUpSession(p.clientid, p.transfer) });
  }

  private get self(): string {
    return this.b.nodeName;
  }

  get hasRemoteRoutes(): boolean {
    return !this.routes.empty;
  }


  async start(): Promise<void> {
    await Promise.all([this.store.start(), this.transport.start()]);
    this.store.onRouteChange((c) => this.routes.apply(c));
    this.store.onRetainedChange((topic, enc) => this.applyRetained(topic, enc));
    this.store.onReconnect(() => void this.resync('store'));
    this.transport.onReconnect(() => this.log.info('transport reconnected'));
    await this.transport.serve(this.self, (method, params) => dispatchRpc(this.handlers, method, params));
    await this.transport.onForward(this.self, (target, bytes) => this.receive(target, bytes));
    await this.heartbeat();
    this.routes.load(await this.store.routes());
    await this.loadRetained();
    await this.startBanned();
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.cfg.heartbeatMs);
    this.timer.unref();
  }

  /** Leaves the cluster at once: routes and registrations go, the others stop counting on this node. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.bannedTimer);
    try {
      await this.store.purgeNode(this.self);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not deregister from the cluster');
    }
    await Promise.allSettled([this.transport.close(), this.store.close()]);
  }

  // ---- membership ----

  private heartbeat(): Promise<void> {
    return this.store.heartbeat({ name: this.self, heartbeatAt: Date.now(), startedAt: this.b.startedAt }, this.cfg.heartbeatTtlMs);
  }

  /** Each heartbeat: renew ours, learn who is alive, purge who is not (one survivor does it). */
  private async tick(): Promise<void> {
    try {
      await this.heartbeat();
      const now = Date.now();
      const live = new Set<string>();
      const records = await this.store.nodes();
      for (const n of records) {
        if (n.name === this.self) continue;
        if (now - n.heartbeatAt <= this.cfg.heartbeatTtlMs) {
          live.add(n.name);
          this.lastHeartbeat.set(n.name, n.heartbeatAt);
        } else if (await this.store.claimPurge(n.name, this.self, this.cfg.heartbeatTtlMs)) {
          this.log.warn({ dead: n.name, lastHeartbeat: new Date(n.heartbeatAt).toISOString() }, 'purging a dead node');
          await this.store.purgeNode(n.name);
        }
      }
      // A node missing from a store that restarted empty is alive until its last heartbeat
      // expires (it writes its record again when its own reconnect comes).
      const recorded = new Set(records.map((r) => r.name));
      for (const [n, at] of this.lastHeartbeat) {
        if (live.has(n)) continue;
        if (!recorded.has(n) && now - at <= this.cfg.heartbeatTtlMs) live.add(n);
        else this.lastHeartbeat.delete(n);
      }
      // a node that left loses its routes here even if a deletion notice was missed
      for (const n of this.live) if (!live.has(n)) this.routes.removeNode(n);
      this.live = live;
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'heartbeat failed');
    }
  }

  /**
   * After the store comes back: notifications may have been missed and writes failed, so
   * this node's routes, registrations and retained changes are written again and the
   * route table and retained replica reloaded.
   */
  private async resync(what: string): Promise<void> {
    if (this.stopped) return;
    try {
      await this.heartbeat();
      await this.store.setRoutes(this.self, this.b.router.routeKeys());
      await this.store.registerClients([...this.b.sessions.keys()], this.self);
      for (const topic of [...this.retainedDirty]) {
        const m = this.b.retained.get(topic);
        await this.store.setRetained(topic, m ? encodeMessage(m) : null);
        this.retainedDirty.delete(topic);
      }
      // a store that restarted empty (Redis without persistence) gets back every retained
      // message this node still holds: losing them cluster-wide is worse than resurrecting
      // one deleted while this node was cut off
      const stored = await this.store.retained();
      for (const m of [...this.b.retained.all()]) if (!stored.has(m.topic)) await this.store.setRetained(m.topic, encodeMessage(m));
      await this.loadRetained();
      // The table is reloaded whole only after the other nodes had time to write their
      // routes again too (a store that restarted empty has none of theirs yet); until
      // then the known routes stay and notifications keep them current.
      setTimeout(() => void this.reloadRoutes(), 2 * this.cfg.heartbeatMs).unref();
      this.log.info({ sessions: this.b.sessions.size }, `${what} reconnected: routes and registrations restored`);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, `${what} resync failed; retrying at the next reconnect`);
    }
  }

  private async reloadRoutes(): Promise<void> {
    if (this.stopped) return;
    try {
      const stored = await this.store.routes();
      // A live node with no routes in the store has not written them again yet (its own
      // reconnect came later): the routes known of it stay, or messages for its
      // subscribers would meet "no matching subscribers" until it does.
      const written = new Set(stored.map((r) => r.node));
      const pending = this.routes.rows().filter((r) => !written.has(r.node) && this.live.has(r.node));
      this.routes.load(pending.length > 0 ? [...stored, ...pending] : stored);
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'route reload failed; the next reconnect retries');
    }
  }

  // ---- routes (RouterEvents) ----

  routeAdded(key: string): void {
    this.store.addRoute(this.self, key).catch(() => this.log.debug({ key }, 'route add deferred until the store is back'));
  }

  routeDeleted(key: string): void {
    this.store.deleteRoute(this.self, key).catch(() => this.log.debug({ key }, 'route delete deferred until the store is back'));
  }

  // ---- forwarding ----

  /**
   * Only a message that went to another node at QoS 1/2 has its acknowledgement wait for the
   * flush (`out.forwarded`), not every acknowledgement made in the same I/O turn, which would
   * hold local traffic back for as long as NATS is away.
   */
  forward(msg: Message, enc: PublishEncoder, out: ForwardOutcome): number {
    const entries = this.routes.match(msg.topic);
    let n = 0;
    if (entries.length === 1) {
      // one filter: its nodes are distinct already (no Set per message)
      for (const node of entries[0]!.nodes) this.forwardTo(node, ROUTE, msg);
      n = entries[0]!.nodes.size;
    } else if (entries.length > 1) {
      const sent = new Set<string>();
      for (const e of entries) {
        for (const node of e.nodes) {
          if (sent.has(node)) continue;
          sent.add(node);
          this.forwardTo(node, ROUTE, msg);
        }
      }
      n = sent.size;
    }
    this.sharedSent = 0;
    const shared = this.dispatchShared(msg, enc, entries);
    if (n + this.sharedSent > 0) {
      out.forwarded = msg.qos > 0;
      out.backlogged = this.transport.backlogged;
    }
    return n + shared;
  }

  /**
   * The message goes to another node: encoded by the transport straight into what it sends.
   * A QoS 0 message the transport cannot take now (NATS away or backlogged) counts as
   * messages.dropped here, on the sending node; it still counts as a delivery for the caller
   * (not as "no subscribers").
   */
  private forwardTo(node: string, target: ForwardTarget, msg: Message): void {
    if (this.transport.forward(node, target, msg, msg.qos > 0)) this.b.metrics.inc(M_FORWARD);
    else this.b.metrics.inc(M_DROPPED);
  }

  /**
   * Shared groups, cluster-wide: for each group with members matching the topic, one node
   * is chosen among those with members (this one included) by the dispatch strategy, and
   * that node gives the message to one of its members. Nodes are chosen uniformly: their
   * member counts are not shared.
   */
  private dispatchShared(msg: Message, enc: PublishEncoder, remote: RemoteEntry[]): number {
    const local = this.b.router.match(msg.topic);
    // most topics have no shared group anywhere: no candidate map for them
    if (!remote.some(hasGroups) && !local.some(hasShared)) return 0;
    const candidates = new Map<string, { filter: string; group: string; nodes: string[] }>();
    for (const l of local) {
      if (!l.shared) continue;
      for (const g of l.shared.keys()) candidates.set(`${g}\u0000${l.filter}`, { filter: l.filter, group: g, nodes: [this.self] });
    }
    for (const e of remote) {
      if (!e.groups) continue;
      for (const [g, nodes] of e.groups) {
        const key = `${g}\u0000${e.filter}`;
        const c = candidates.get(key) ?? { filter: e.filter, group: g, nodes: [] };
        c.nodes.push(...nodes);
        candidates.set(key, c);
      }
    }
    let n = 0;
    for (const [key, c] of candidates) {
      const nodes = c.nodes;
      let i: number;
      if (this.cfg.sharedDispatchStrategy === 'round_robin') {
        const next = this.roundRobin.get(key) ?? 0;
        this.roundRobin.set(key, next + 1);
        i = next % nodes.length;
      } else {
        i = Math.floor(Math.random() * nodes.length);
      }
      const node = nodes[i]!;
      if (node === this.self) {
        if (this.b.router.deliverShared(c.filter, c.group, msg, enc)) n++;
      } else {
        this.forwardTo(node, { kind: 'shared', filter: c.filter, group: c.group }, msg);
        this.sharedSent++;
        n++;
      }
    }
    return n;
  }

  onForwardsDrained(cb: () => void): void {
    this.transport.onDrained(cb);
  }

  forwardFlushed(): Promise<void> {
    // one flush covers every message forwarded during this I/O turn
    this.turnFlush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.turnFlush = undefined;
      return this.flushUntilDone();
    });
    return this.turnFlush;
  }

  /**
   * The transport's flush, retried until it succeeds: acknowledgements wait rather than lie.
   * The transport keeps QoS 1/2 forwards and resends them once it is back, so a retry right
   * after it reconnects lets acknowledgements resume at once.
   */
  private async flushUntilDone(): Promise<void> {
    for (;;) {
      try {
        return await this.transport.flush();
      } catch {
        if (this.stopped) return;
        await this.transportBackOr(FLUSH_RETRY_MS);
      }
    }
  }

  /** woken when the transport reconnects; registered on first use */
  private flushRetries: (() => void)[] | undefined;

  /** Resolves when the transport reconnects, or after `ms`. */
  private transportBackOr(ms: number): Promise<void> {
    if (!this.flushRetries) {
      const retries: (() => void)[] = (this.flushRetries = []);
      this.transport.onReconnect(() => {
        for (const wake of retries.splice(0)) wake();
      });
    }
    const retries = this.flushRetries;
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        const i = retries.indexOf(wake);
        if (i >= 0) retries.splice(i, 1);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      retries.push(wake);
    });
  }

  private receive(target: ForwardTarget, bytes: Uint8Array): void {
    let msg: Message;
    try {
      // The payload stays a view into the transport's buffer, as a local PUBLISH's stays a
      // view into its socket read: sessions copy what they keep (detachPayload). A copy here
      // was one more per message: wasted on QoS 0 written out at once, and for a queued
      // message detachPayload copied the (pooled) copy again.
      msg = decodeMessage(bytes, false);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'undecodable forwarded message');
      return;
    }
    this.b.deliverForwarded(msg, target);
  }

  // ---- client registry ----

  async claimSession(clientid: string, transfer: boolean): Promise<SessionTransfer | null> {
    let prev: string | undefined;
    try {
      prev = await this.store.registerClient(clientid, this.self);
    } catch (err) {
      // the store is away: decide locally; registrations are written again on reconnect
      this.log.debug({ clientid, err: (err as Error).message }, 'registry unavailable at CONNECT');
      return null;
    }
    if (prev === undefined || prev === this.self || !this.live.has(prev)) return null;
    try {
      return await this.transport.request(prev, 'session.takeover', { clientid, transfer, toNode: this.self }, this.cfg.rpcTimeoutMs);
    } catch (err) {
      this.log.warn({ clientid, from: prev, err: (err as Error).message }, 'session takeover failed; starting a new session');
      return null;
    }
  }

  /** Another node took this clientid: our connection is closed and the session ends here (its state goes along when asked). */
  private giveUpSession(clientid: string, transfer: boolean): SessionTransfer | null {
    const s = this.b.sessions.get(clientid);
    if (!s) return null;
    const out = transfer ? exportSession(s) : null;
    this.b.handOver(s, transfer);
    return out;
  }

  sessionEnded(clientid: string): void {
    if (this.stopped) return;
    this.store.unregisterClient(clientid, this.self).catch(() => {});
  }

  // ---- retained ----

  retainedChanged(topic: string, msg: Message | undefined): void {
    this.store.setRetained(topic, msg ? encodeMessage(msg) : null).catch(() => this.retainedDirty.add(topic));
  }

  private applyRetained(topic: string, enc: Uint8Array | null): void {
    if (this.retainedDirty.has(topic)) return; // ours is newer; it is written on reconnect
    if (enc === null) this.b.retained.delete(topic);
    else this.b.retained.set(decodeMessage(enc));
  }

  /** Makes the local replica equal to the store's retained messages. */
  private async loadRetained(): Promise<void> {
    const all = await this.store.retained();
    for (const m of [...this.b.retained.all()]) if (!all.has(m.topic) && !this.retainedDirty.has(m.topic)) this.b.retained.delete(m.topic);
    for (const [topic, enc] of all) if (!this.retainedDirty.has(topic)) this.b.retained.set(decodeMessage(enc));
  }

  // ---- banned ----

  /**
   * The banned table is cluster configuration (POST /api/v4/banned writes it to the store):
   * loaded at start, on every change notice and after a reconnect, so a ban refuses CONNECT
   * on every node within a second. The broker's STARLING_BANNED_FILE entries seed the store
   * first, so they apply cluster-wide and show in GET /banned. Every node purges expired
   * entries now and then (idempotent; an expired entry is not enforced meanwhile anyway).
   */
  private async startBanned(): Promise<void> {
    for (const e of this.b.banned.list()) await this.store.configPut('banned', e, 'upsert');
    this.store.onConfigChange((what) => {
      if (what === 'banned') void this.loadBanned();
    });
    this.store.onReconnect(() => void this.loadBanned());
    await this.loadBanned();
    this.bannedTimer = setInterval(() => {
      this.store.configPurgeExpired('banned', Math.floor(Date.now() / 1000)).catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'banned purge failed'));
    }, BANNED_PURGE_MS);
    this.bannedTimer.unref();
  }

  /** Replaces the local table with the store's; loads run one at a time, the last change read last. */
  private loadBanned(): Promise<void> {
    if (this.bannedLoad) {
      this.bannedAgain = true;
      return this.bannedLoad;
    }
    this.bannedLoad = (async () => {
      do {
        this.bannedAgain = false;
        try {
          this.b.banned.replaceAll(await this.store.configList('banned'));
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'could not load the banned table; the current one stays');
        }
      } while (this.bannedAgain && !this.stopped);
    })().finally(() => {
      this.bannedLoad = undefined;
    });
    return this.bannedLoad;
  }
}
