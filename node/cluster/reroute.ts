import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import { decodeMessage } from '../../shared/cluster/message-codec.js';
import { parseShare, topicMatches } from '../../shared/topic.js';
import type { Broker } from '../broker.js';
import { metricIndex } from '../metrics/metrics.js';
import type { HeldForward, Transport } from './forwarding/transport.js';
import type { GhostRoutes } from './ghost-routes.js';
import type { ClusterRoutes } from './routes.js';

const M_DROPPED = metricIndex('messages.dropped');
/** how often held forwards look for a new route (a remote route's arrival is seen at once) */
const CHECK_EVERY_MS = 100;
/**
 * A node still live by its heartbeat is sent its held forwards again after this long: it
 * was only unsubscribed for a moment (its NATS server changed); one that died is parked
 * again and found dead once its heartbeat is stale.
 */
const LIVE_RETRY_MS = 500;

/** A held forward and what it waits for. */
interface Waiting {
  readonly held: HeldForward;
  readonly topic: string;
  /** the routes (`filter\0node`) matching its topic when it was held (remote ones older than the frame) and still there: not new */
  readonly known: Set<string>;
  /** when it is dropped if no new route appeared */
  readonly deadline: number;
  /** when it was held */
  readonly heldAt: number;
}

/**
 * Reliable forwards to a node that died before confirming them (docs/forwarding.md,
 * "Rerouting"): held, their publishers' acknowledgements waiting, until their subscribers
 * come back elsewhere. The dead node's persistent sessions are resumed by their clients or
 * adopted by a survivor (durable sessions), and their subscriptions appear there as new
 * routes: a held forward goes to each node (this one included) where a route matching its
 * topic appeared since it was held, and its acknowledgement waits for that copy to be
 * stored. None within STARLING_REROUTE_WAIT_MS (the session expired, was discarded, or
 * was not persistent): dropped, counted in messages.dropped, and the publishers'
 * acknowledgements fail (their connections close, so that they publish again).
 */
export class Reroutes {
  private readonly waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly self: string;
  /**
   * when each local route key appeared here: a session adopted or resumed here after a
   * forward went out never had it (the publisher's node delivered it here only to those
   * subscribed before)
   */
  private readonly localSince = new Map<string, number>();
  private soon: NodeJS.Immediate | undefined;
  /** when NATS last found nobody listening for a node (its forwards were held) */
  private readonly unreachableAt = new Map<string, number>();
  /** the kept routes are to be narrowed to what persistent sessions need (once per turn) */
  private pruning = false;
  /** the read of the stored sessions under way, shared by those who want it meanwhile */
  private reading: Promise<{ filter: string; node: string }[]> | undefined;

  constructor(
    private readonly b: Broker,
    private readonly routes: ClusterRoutes,
    private readonly transport: Transport,
    private readonly isLive: (node: string) => boolean,
    /** delivers a forward here as if received; what it returns resolves once its copies are stored */
    private readonly deliverHere: (held: HeldForward) => Promise<void> | undefined,
    private readonly cfg: Config,
    private readonly log: Logger,
    private readonly ghosts: GhostRoutes,
  ) {
    this.self = b.nodeName;
    transport.onUnreachable((held) => this.hold(held));
    routes.onRemoved((filter, node) => this.routeRemoved(filter, node));
    // a route arriving is looked at before any later publish can take it: the held forwards keep their order
    routes.onAdded(() => {
      if (this.waiting.length > 0) this.check();
    });
  }

  /** A local route appeared (router event): held forwards look at it once the session it is for is in place. */
  localRouteAdded(key: string): void {
    this.localSince.set(key, Date.now());
    // not now: an adopted or resumed session restores its messages after its subscriptions,
    // and a rerouted copy must find them (restored.ts)
    if (this.waiting.length === 0 || this.soon) return;
    this.soon = setImmediate(() => {
      this.soon = undefined;
      if (this.waiting.length > 0) this.check();
    });
  }

  localRouteDeleted(key: string): void {
    this.localSince.delete(key);
  }

  /**
   * A remote route went: kept (ghost-routes.ts) when its node is dead (no longer live by its
   * heartbeat, or NATS found nobody listening for it lately) and durable sessions are on.
   * Kept at once (the adopter's route may be a moment away), then narrowed, once the store
   * is read, to the filters stored persistent sessions subscribe with: a clean session's
   * route is lost with its node, and kept it would only hold its publishers up.
   */
  private routeRemoved(filter: string, node: string): void {
    if (this.b.durable === undefined) return;
    const now = Date.now();
    const unreachable = now - (this.unreachableAt.get(node) ?? -Infinity) < this.cfg.rerouteWaitMs;
    if (this.isLive(node) && !unreachable) return; // an unsubscribe
    this.ghosts.add(filter, node, now + this.cfg.rerouteWaitMs);
    if (this.pruning) return;
    this.pruning = true;
    setImmediate(() => void this.pruneGhosts());
  }

  private async pruneGhosts(): Promise<void> {
    this.pruning = false;
    let filters: Set<string>;
    try {
      filters = new Set((await this.persistentSubscriptions()).map((s) => s.filter));
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'durable sessions not read: routes of a dead node kept as they are');
      return;
    }
    this.ghosts.retain((filter) => filters.has(filter));
  }

  /** A node taken for dead heartbeats again: its own routes come back, the kept ones go. */
  nodeReturned(node: string): void {
    this.unreachableAt.delete(node);
    this.ghosts.dropNode(node);
  }

  /** when the ordinary route of `node` (this one's included) for `filter` appeared (0: unknown) */
  private since(filter: string, node: string): number {
    return node === this.self ? (this.localSince.get(filter) ?? 0) : this.routes.since(filter, node);
  }

  private hold(held: HeldForward[]): void {
    const deadline = Date.now() + this.cfg.rerouteWaitMs;
    if (held.length > 0) this.unreachableAt.set(held[0]!.node, Date.now());
    for (const h of held) {
      let topic: string;
      try {
        topic = decodeMessage(h.encoded, false).topic;
      } catch {
        this.transport.release(h, false); // undecodable: the receiver would have dropped it too
        continue;
      }
      // a remote route added since the frame went out never had it: not known, whatever the order of events
      const known = this.routesOf(topic, h);
      for (const r of known) {
        const at = r.indexOf('\u0000');
        if (this.since(r.slice(0, at), r.slice(at + 1)) > h.sentAt) known.delete(r);
      }
      this.waiting.push({ held: h, topic, known, deadline, heldAt: Date.now() });
    }
    this.log.warn({ node: held[0]?.node, frames: held.length, waitMs: this.cfg.rerouteWaitMs }, 'forwards to a dead node held until their subscribers are routed elsewhere');
    // (a session resumed elsewhere before its node was found dead is routed there already)
    this.check();
    this.schedule();
    const node = held[0]?.node;
    if (node !== undefined) void this.releaseUnowed(node);
  }

  /**
   * Only persistent sessions come back: a held forward whose topic no stored persistent
   * session may still need (its subscribers there had clean sessions, or durable sessions
   * are off) has nobody to wait for, and is settled as before, at once (its publisher
   * acknowledged, as after any subscriber's crash). A session needs it when it is stored
   * as held by the dead node, or by another one whose route for the matching filter was
   * not known here when the forward was sent (it may have resumed from the dead node). The
   * store unreachable: they wait.
   */
  private async releaseUnowed(node: string): Promise<void> {
    let subs: { filter: string; node: string }[];
    try {
      subs = await this.persistentSubscriptions();
    } catch (err) {
      this.log.debug({ err: (err as Error).message, node }, 'durable sessions not read: forwards to a dead node wait');
      return;
    }
    const needs = (w: Waiting): boolean =>
      subs.some((s) => {
        if (!topicMatches(s.filter, w.topic)) return false;
        if (s.node === node || s.node === this.self) return true;
        const since = this.since(s.filter, s.node);
        return since === 0 || since > w.held.sentAt;
      });
    let kept = 0;
    for (const w of this.waiting) {
      const h = w.held;
      if (h.node === node && h.target.kind === 'route' && !h.settled && !needs(w)) {
        this.transport.release(h, true);
        continue;
      }
      this.waiting[kept++] = w;
    }
    this.waiting.length = kept;
  }

  /**
   * The ordinary subscriptions of every stored persistent session, with the node holding it
   * (none without durable sessions). One read at a time: who asks meanwhile shares it.
   */
  private persistentSubscriptions(): Promise<{ filter: string; node: string }[]> {
    this.reading ??= this.readSubscriptions().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async readSubscriptions(): Promise<{ filter: string; node: string }[]> {
    const store = this.b.durable?.store;
    if (store === undefined) return [];
    const out: { filter: string; node: string }[] = [];
    for (const id of await store.clientids()) {
      const r = (await store.get(id))?.record;
      if (r) for (const s of r.subscriptions) if (parseShare(s.topic) === undefined) out.push({ filter: s.topic, node: r.node });
    }
    return out;
  }

  private schedule(): void {
    if (this.timer || this.waiting.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.check();
      this.schedule();
    }, CHECK_EVERY_MS);
    this.timer.unref();
  }

  /** Each held forward goes where a new route for it appeared, or is dropped past its deadline. */
  private check(): void {
    const now = Date.now();
    let kept = 0;
    let dropped = 0;
    for (const w of this.waiting) {
      if (w.held.settled) continue;
      const current = this.routesOf(w.topic, w.held);
      const to = new Set<string>();
      for (const r of current) {
        // a shared group's forward goes to one member node, any: the group is what it was for
        if (w.held.target.kind === 'shared' && to.size > 0) break;
        if (w.held.target.kind === 'shared' || !w.known.has(r)) to.add(r.slice(r.indexOf('\u0000') + 1));
      }
      // a route gone since (its node died too) counts as new when it comes back
      for (const r of w.known) if (!current.has(r)) w.known.delete(r);
      if (to.size === 0 && now - w.heldAt >= LIVE_RETRY_MS && this.isLive(w.held.node)) to.add(w.held.node);
      if (to.size > 0) {
        this.send(w.held, to);
        continue;
      }
      if (now >= w.deadline) {
        this.transport.release(w.held, false);
        this.b.metrics.inc(M_DROPPED);
        dropped++;
        continue;
      }
      this.waiting[kept++] = w;
    }
    this.waiting.length = kept;
    if (dropped > 0) this.log.error({ dropped, waitedMs: this.cfg.rerouteWaitMs }, 'forwards to a dead node dropped: no new route for them appeared in time');
  }

  private send(held: HeldForward, to: Set<string>): void {
    for (const node of to) {
      if (node !== this.self) {
        this.transport.reroute(held, node);
        continue;
      }
      const stored = this.deliverHere(held);
      if (stored === undefined) this.transport.release(held, true);
      else
        stored.then(
          () => this.transport.release(held, true),
          () => this.transport.release(held, false),
        );
    }
  }

  /**
   * The routes matching `topic` on live nodes other than the one the forward was for, as
   * `filter\0node` (this node's own subscribers included); for a shared-group forward, the
   * nodes with members of its group.
   */
  private routesOf(topic: string, h: HeldForward): Set<string> {
    const out = new Set<string>();
    const t = h.target;
    const shared = t.kind === 'shared';
    for (const e of this.routes.match(topic)) {
      if (shared) {
        if (e.filter !== t.filter) continue;
        for (const node of e.groups?.get(t.group!)?.keys() ?? []) if (node !== h.node && this.isLive(node)) out.add(`${e.filter}\u0000${node}`);
      } else for (const node of e.nodes) if (node !== h.node && this.isLive(node)) out.add(`${e.filter}\u0000${node}`);
    }
    for (const l of this.b.router.match(topic)) {
      if (shared ? l.filter === t.filter && l.shared?.has(t.group!) : l.subs.size > 0) out.add(`${l.filter}\u0000${this.self}`);
    }
    return out;
  }

  stop(): void {
    clearImmediate(this.soon);
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
