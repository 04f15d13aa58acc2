import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { Message } from '../../shared/message.js';
import type { ClusterStore } from '../../shared/cluster/store.js';
import type { SessionTransfer } from '../../shared/api/session.js';
import type { Broker } from '../broker.js';
import type { ClusterHooks, ForwardOutcome } from '../core/ports.js';
import type { PublishEncoder } from '../protocol/codec.js';
import { BannedSync, ConfigSync } from './config-sync.js';
import { ClientConflicts } from './conflicts.js';
import { ForwardDispatch } from './forward-dispatch.js';
import type { Transport } from './forwarding/transport.js';
import { Membership } from './membership.js';
import { MovedSessions } from './moved-sessions.js';
import { ClientRegistry } from './registry.js';
import { StoreResync } from './resync.js';
import { RetainedSync } from './retained-sync.js';
import { RouteSync } from './route-sync.js';
import { ClusterRoutes } from './routes.js';
import { RpcServer } from './rpc-server.js';
import { UnreachableForwards } from './unreachable-forwards.js';
import { KeptRoutes } from './kept-routes.js';
import type { DurableSessions } from '../session/durable/durable-sessions.js';


/**
 * Turns one broker node into a member of a cluster (DESIGN: "Cluster behaviour that must
 * hold"): membership with heartbeats and the purge of dead nodes (membership.ts), the route
 * table shared through the store (route-sync.ts), forwarding of messages over the transport
 * (forward-dispatch.ts), the clientid registry with takeover across nodes (registry.ts; a
 * session moving away keeps its routes here until its new node's are in, and what still
 * comes here for it is sent on: moved-sessions.ts),
 * retained messages replicated everywhere (retained-sync.ts), cluster configuration
 * (config-sync.ts), the resync after a store reconnect (resync.ts), with durable sessions the
 * forwards a dead node never confirmed stored for its sessions and its routes kept for them
 * (unreachable-forwards.ts, kept-routes.ts), a clientid left live on
 * two nodes by an outage settled (conflicts.ts) and the node's RPC
 * service (rpc-server.ts). Standalone, the same code runs over the in-process transport
 * and memory store. This class wires them in order and answers ClusterHooks by delegating.
 */
export class Cluster implements ClusterHooks {
  readonly routes: ClusterRoutes;
  private readonly membership: Membership;
  private readonly routeSync: RouteSync;
  private readonly moved: MovedSessions;
  private readonly dispatch: ForwardDispatch;
  private readonly registry: ClientRegistry;
  private readonly retained: RetainedSync;
  private readonly banned: BannedSync;
  private readonly topicMetrics: ConfigSync<'topic_metrics'>;
  private readonly rules: ConfigSync<'rules'>;
  private readonly features: ConfigSync<'feature_states'>;
  private readonly resources: ConfigSync<'resources'>;
  private readonly resync: StoreResync;
  private readonly conflicts: ClientConflicts;
  private readonly rpc: RpcServer;
  private unreachable: UnreachableForwards | undefined;
  private kept: KeptRoutes | undefined;

  constructor(
    private readonly b: Broker,
    readonly transport: Transport,
    readonly store: ClusterStore,
    private readonly cfg: Config,
    private readonly log: Logger,
  ) {
    this.routes = new ClusterRoutes(b.nodeName);
    this.membership = new Membership(store, this.routes, b.nodeName, b.startedAt, cfg, log);
    this.routeSync = new RouteSync(store, this.routes, this.membership, b.nodeName, cfg.routeBatchMax, log);
    this.moved = new MovedSessions(this.routeSync, this.routes, transport, cfg, log);
    this.dispatch = new ForwardDispatch(b, this.routes, transport, this.moved, cfg, log);
    this.conflicts = new ClientConflicts(b, { store, transport, membership: this.membership, moved: this.moved, cfg, log });
    this.registry = new ClientRegistry(b, store, transport, this.membership, this.moved, this.conflicts, cfg, log);
    this.retained = new RetainedSync(store, b.retained);
    this.banned = new BannedSync(store, b.banned, log);
    // plugin and module states: this node's switches are kept in the store, every change applied here
    b.features.attachStore(store);
    this.features = new ConfigSync(store, 'feature_states', (records) => b.features.applyRecords(records), log);
    this.topicMetrics = new ConfigSync(store, 'topic_metrics', (records) => b.topicMetrics.setTopics(records), log);
    this.resources = new ConfigSync(store, 'resources', (records) => b.resources.apply(records), log);
    this.rules = new ConfigSync(store, 'rules', (records) => b.rules.setRules(records), log);
    this.resync = new StoreResync(b, store, this.membership, this.routeSync, this.retained, this.conflicts, cfg, log);
    this.rpc = new RpcServer(b, this.registry, this.conflicts);
    this.membership.events = {
      purged: () => {
        // its sessions may have been adopted elsewhere meanwhile (conflicts.ts)
        this.conflicts.mayConflict();
        void this.resync.run('purged as dead');
      },
      // (routes kept for it stay until its sessions are taken back: attachDurable)
      returned: () => void this.routeSync.reload(),
    };
  }

  /** whether another node's heartbeat is fresh */
  isLive(node: string): boolean {
    return this.membership.isLive(node);
  }

  /**
   * Durable sessions are on: QoS 1/2 forwards a node never confirmed before it died are
   * stored for its persistent sessions rather than given up (unreachable-forwards.ts).
   */
  attachDurable(durable: DurableSessions): void {
    this.unreachable = new UnreachableForwards(durable, (n) => this.membership.isLive(n), this.transport, this.log);
    this.transport.onUnreachable(this.unreachable.take);
    // a dead node's routes are kept for its stored sessions until they are owned elsewhere
    this.kept = new KeptRoutes(this.routes, this.membership, this.routeSync, this.unreachable, this.log);
    this.kept.start(this.cfg.heartbeatMs);
  }

  get reachable(): boolean {
    return this.store.connected && this.transport.connected;
  }

  get hasRemoteRoutes(): boolean {
    return !this.routes.empty || !this.moved.empty;
  }

  /**
   * Joins the cluster. `forwardsLater`: this node's routes are not written and forwards to
   * it not taken until listenForwards() (a node started again under its name takes back its
   * stored sessions first: its routes then include theirs, rather than replace the former
   * run's by none for a moment, and what was owed to them and is sent again reaches them).
   */
  async start(opts: { forwardsLater?: boolean } = {}): Promise<void> {
    await Promise.all([this.store.start(), this.transport.start()]);
    this.routeSync.listen();
    this.store.onRouteChanges((changes) => {
      for (const c of changes) this.moved.routeChanged(c);
    });
    this.retained.listen();
    this.store.onReconnect(() => void this.resync.run('store reconnected'));
    this.transport.onReconnect(() => {
      this.log.info('transport reconnected');
      // a CONNECT elsewhere while NATS was away registered there but could not take over
      void this.conflicts.checkRegistry();
    });
    await this.rpc.serve(this.transport, this.b.nodeName);
    await this.membership.heartbeat();
    await this.routeSync.load();
    if (!opts.forwardsLater) await this.listenForwards();
    await this.retained.load();
    await this.banned.start();
    await this.topicMetrics.start();
    await this.rules.start();
    await this.features.start();
    await this.resources.start();
    await this.membership.start();
  }

  /** Writes this node's routes and takes forwards from the other nodes (after start({ forwardsLater: true })). */
  async listenForwards(): Promise<void> {
    // After the heartbeat, which stops a purge of a former run under this name (its routes
    // written from here on stay): what that run left is replaced by this one's routes. After
    // the load too (start()): the other nodes then apply the deletions of the former run's
    // routes (166,000 of them at 1,000,000 routes on 6 nodes) once this node has its table,
    // not while it loads it on the same cores.
    await this.routeSync.restore(this.b.router.routeKeys(), this.b.router.sharedMemberCounts());
    await this.dispatch.listen();
  }

  /** Leaves the cluster at once: routes and registrations go, the others stop counting on this node. */
  async stop(): Promise<void> {
    this.resync.stop();
    this.unreachable?.stop();
    this.kept?.stop();
    this.routes.stop();
    this.routeSync.stop();
    this.dispatch.stop();
    this.registry.stop();
    this.conflicts.stop();
    this.membership.stop();
    this.banned.stop();
    this.topicMetrics.stop();
    this.rules.stop();
    this.features.stop();
    this.resources.stop();
    this.b.resources.close();
    try {
      await this.store.purgeNode(this.b.nodeName);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not deregister from the cluster');
    }
    await Promise.allSettled([this.transport.close(), this.store.close()]);
  }

  routeAdded(key: string): void {
    this.routeSync.routeAdded(key);
  }

  routeDeleted(key: string): void {
    this.routeSync.routeDeleted(key);
  }

  sharedMembersChanged(key: string, members: number): void {
    this.routeSync.sharedMembersChanged(key, members);
  }

  hasRoute(topic: string): boolean {
    return this.routes.match(topic).length > 0 || (!this.moved.empty && this.moved.matches(topic));
  }

  forward(msg: Message, enc: PublishEncoder, out: ForwardOutcome): number {
    return this.dispatch.forward(msg, enc, out);
  }

  forwardFlushed(to: readonly string[]): Promise<void> {
    return this.dispatch.forwardFlushed(to);
  }

  onForwardsDrained(cb: () => void): void {
    this.dispatch.onForwardsDrained(cb);
  }

  claimSession(clientid: string, transfer: boolean, holder?: string): Promise<SessionTransfer | null> {
    return this.registry.claimSession(clientid, transfer, holder);
  }

  sessionEnded(clientid: string): void {
    this.registry.sessionEnded(clientid);
  }

  adoptRegistration(clientid: string, deadNode: string): Promise<boolean> {
    return this.registry.adoptRegistration(clientid, deadNode);
  }

  retainedChanged(topic: string, msg: Message | undefined): void {
    this.retained.changed(topic, msg);
  }
}
