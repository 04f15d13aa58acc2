import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { Message } from '../../shared/message.js';
import type { RouteChange } from '../../shared/cluster/store.js';
import { topicMatches } from '../../shared/topic.js';
import type { Forwarder, ForwardTarget } from './forwarding/transport.js';
import type { RouteSync } from './route-sync.js';
import type { ClusterRoutes } from './routes.js';

/** A persistent session this node gave up to another node a moment ago. */
interface Moved {
  readonly clientid: string;
  readonly toNode: string;
  readonly target: ForwardTarget;
  /** its ordinary (not shared) subscriptions' filters */
  readonly filters: readonly string[];
  /** filters whose route to the new node this node has not seen in the store yet */
  readonly waiting: Set<string>;
  /** whether this node's routes for the filters are still held in the store */
  held: boolean;
  timer: NodeJS.Timeout;
}

/**
 * The old node's half of a session's move to another node (takeover with its state). The
 * session leaves here at once, but the other nodes learn of its new routes only through the
 * store, a moment later, and meanwhile still send here what they publish to it. So:
 *
 * - this node's routes for the session's filters stay in the store until the new node's
 *   are there (seen in the store's change notices, which every node gets in the same
 *   order): no node is left with a route to neither, which lost what it published then;
 * - what reaches this node for the session, from the other nodes or its own publishers,
 *   goes on to the new node (a 'session' forward), for STARLING_SESSION_MOVE_GRACE_MS after
 *   the routes were released: a node that knew both routes sent the message there directly
 *   too, and the new node keeps one copy (node/session/move-dedup.ts).
 *
 * Only ordinary subscriptions: a shared group's member is chosen cluster-wide at each
 * publish and another member gets what this one misses.
 */
export class MovedSessions {
  private readonly moved = new Map<string, Moved>();

  constructor(
    private readonly routeSync: RouteSync,
    private readonly routes: ClusterRoutes,
    private readonly transport: Forwarder,
    private readonly cfg: Config,
    private readonly log: Logger,
  ) {}

  get empty(): boolean {
    return this.moved.size === 0;
  }

  /** The session of `clientid` with these ordinary subscriptions moved to `toNode`; call before it ends here. */
  add(clientid: string, toNode: string, filters: readonly string[]): void {
    this.forget(clientid);
    if (filters.length === 0) return;
    const grace = this.cfg.sessionMoveGraceMs;
    const m: Moved = {
      clientid,
      toNode,
      target: { kind: 'session', clientid },
      filters,
      // a route the new node had already (another subscriber there) is in the store already
      waiting: new Set(filters.filter((f) => !this.routes.has(toNode, f))),
      held: true,
      // the routes are released after the grace at the latest (the new node may never write them)
      timer: setTimeout(() => this.release(m), grace).unref(),
    };
    this.routeSync.hold(filters);
    this.moved.set(clientid, m);
    if (m.waiting.size === 0) this.release(m);
  }

  /** A route change from the store: a moved session's route at its new node is in. */
  routeChanged(c: RouteChange): void {
    if (c.op !== 'add' || this.moved.size === 0) return;
    for (const m of this.moved.values()) {
      if (m.held && m.toNode === c.node && m.waiting.delete(c.filter) && m.waiting.size === 0) this.release(m);
    }
  }

  /**
   * The session's client connects here again: nothing is sent on any more. A route still
   * held stays for the grace: the session comes back with its subscriptions and adds it
   * again (a no-op in the store then), where a delete now and an add a moment later would
   * leave the other nodes with no route here in between.
   */
  forget(clientid: string): void {
    const m = this.moved.get(clientid);
    if (m === undefined) return;
    clearTimeout(m.timer);
    this.moved.delete(clientid);
    if (m.held) setTimeout(() => this.routeSync.release(m.filters), this.cfg.sessionMoveGraceMs).unref();
  }

  /** This node's routes go; late messages are still sent on for the grace. */
  private release(m: Moved): void {
    if (!m.held) return;
    m.held = false;
    clearTimeout(m.timer);
    this.routeSync.release(m.filters);
    m.timer = setTimeout(() => {
      if (this.moved.get(m.clientid) === m) this.moved.delete(m.clientid);
    }, this.cfg.sessionMoveGraceMs).unref();
  }

  /** whether a message on `topic` goes on to a moved session's new node */
  matches(topic: string): boolean {
    for (const m of this.moved.values()) if (m.filters.some((f) => topicMatches(f, topic))) return true;
    return false;
  }

  /**
   * Sends `msg` on to the new node of every moved session it matches; returns how many.
   * QoS 1/2 go reliably: the transport keeps them until the new node has them.
   */
  forward(msg: Message, to?: string[]): number {
    let n = 0;
    for (const m of this.moved.values()) {
      if (!m.filters.some((f) => topicMatches(f, msg.topic)) || !this.sendOn(m, msg)) continue;
      n++;
      // the nodes a QoS 1/2 message went to: its acknowledgement waits for their flushes
      if (to !== undefined && !to.includes(m.toNode)) to.push(m.toNode);
    }
    return n;
  }

  /** A 'session' forward for a session that moved on from here again: sent after it; false when it did not move from here. */
  forwardSession(clientid: string, msg: Message): boolean {
    const m = this.moved.get(clientid);
    return m !== undefined && this.sendOn(m, msg);
  }

  private sendOn(m: Moved, msg: Message): boolean {
    if (this.transport.forward(m.toNode, m.target, msg, msg.qos > 0)) return true;
    this.log.debug({ clientid: m.clientid, to: m.toNode }, 'a message for a moved session not sent on (transport away)');
    return false;
  }
}
