import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { Message } from '../../shared/message.js';
import { decodeMessage } from '../../shared/cluster/message-codec.js';
import type { Broker } from '../broker.js';
import type { ForwardOutcome } from '../core/ports.js';
import { metricIndex } from '../metrics/metrics.js';
import type { PublishEncoder } from '../protocol/codec.js';
import type { FilterEntry } from '../router/router.js';
import type { ForwardTarget, Transport } from './forwarding/transport.js';
import type { MovedSessions } from './moved-sessions.js';
import { MoveDedup } from '../session/move-dedup.js';
import type { ClusterRoutes, RemoteEntry } from './routes.js';

const M_FORWARD = metricIndex('messages.forward');
const M_DROPPED = metricIndex('messages.dropped');
/** the target of every non-shared forward (the transport encodes it at once and keeps no reference) */
const ROUTE: ForwardTarget = Object.freeze({ kind: 'route' });
const hasGroups = (e: RemoteEntry): boolean => e.groups !== undefined;
const hasShared = (e: FilterEntry): boolean => e.shared !== undefined;
/** one shared group's candidate nodes for a message, each with its member count */
interface SharedCandidate {
  filter: string;
  group: string;
  nodes: string[];
  weights: number[];
  total: number;
}
/** a failed flush is retried when the transport reconnects, or after this pause */
const FLUSH_RETRY_MS = 100;
/** a 'session' forward that came before the session's import: looked for again this often (for up to the RPC timeout) */
const SESSION_RETRY_MS = 20;

/**
 * Cluster-level forwarding over the transport (node/cluster/forwarding/ is the transport's
 * own machinery): a publish goes to the other nodes with matching routes, shared groups get
 * their cluster-wide choice of node, acknowledgements of forwarded QoS 1/2 messages wait for
 * the flush, and what other nodes forward here is delivered locally. forward() runs for
 * every publish while another node has routes: it allocates nothing when one filter matches.
 */
export class ForwardDispatch {
  /** shared-group forwards to other nodes made by the dispatchShared() call under way */
  private sharedSent = 0;
  /** the nodes the message being forwarded went to at QoS 1/2 (its outcome's `to`) */
  private to: string[] = [];
  /** this I/O turn's flushes, one per node acknowledgements wait for; they start at its end */
  private turn: { start: Promise<void>; byNode: Map<string, Promise<void>> } | undefined;
  private readonly roundRobin = new Map<string, number>();
  private readonly self: string;
  private stopped = false;

  constructor(
    private readonly b: Broker,
    private readonly routes: ClusterRoutes,
    private readonly transport: Transport,
    private readonly moved: MovedSessions,
    private readonly cfg: Config,
    private readonly log: Logger,
  ) {
    this.self = b.nodeName;
  }

  /** Delivers here what the other nodes forward to this one. */
  listen(): Promise<void> {
    return this.transport.onForward(this.self, (target, bytes) => this.receive(target, bytes));
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Only a message that went to another node at QoS 1/2 has its acknowledgement wait for the
   * flush (`out.forwarded`), not every acknowledgement made in the same I/O turn, which would
   * hold local traffic back for as long as NATS is away.
   */
  forward(msg: Message, enc: PublishEncoder, out: ForwardOutcome): number {
    const entries = this.routes.match(msg.topic);
    out.to.length = 0;
    this.to = out.to;
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
    // a session that just moved from here to another node gets it there (moved-sessions.ts)
    const movedOn = this.moved.empty ? 0 : this.moved.forward(msg, msg.qos > 0 ? out.to : undefined);
    if (n + this.sharedSent + movedOn > 0) {
      out.forwarded = msg.qos > 0;
      out.backlogged = this.transport.backlogged;
    }
    return n + shared + movedOn;
  }

  /**
   * The message goes to another node: encoded by the transport straight into what it sends.
   * A QoS 0 message the transport cannot take now (NATS away or backlogged) counts as
   * messages.dropped here, on the sending node; it still counts as a delivery for the caller
   * (not as "no subscribers").
   */
  private forwardTo(node: string, target: ForwardTarget, msg: Message): void {
    const reliable = msg.qos > 0;
    if (this.transport.forward(node, target, msg, reliable)) this.b.metrics.inc(M_FORWARD);
    else this.b.metrics.inc(M_DROPPED);
    // a node once: forward() sends a message to a node once, a shared group's pick may repeat it
    if (reliable && !this.to.includes(node)) this.to.push(node);
  }

  /**
   * Shared groups, cluster-wide: for each group with members matching the topic, one node
   * is chosen among those with members (this one included), weighted by its member count
   * (each member, wherever it is, gets its share), by the dispatch strategy: random, or
   * round_robin over the members' slots. The chosen node gives the message to one of its
   * members.
   */
  private dispatchShared(msg: Message, enc: PublishEncoder, remote: RemoteEntry[]): number {
    const local = this.b.router.match(msg.topic);
    // most topics have no shared group anywhere: no candidate map for them
    if (!remote.some(hasGroups) && !local.some(hasShared)) return 0;
    const candidates = new Map<string, SharedCandidate>();
    for (const l of local) {
      if (!l.shared) continue;
      for (const [g, group] of l.shared) {
        candidates.set(`${g}\u0000${l.filter}`, { filter: l.filter, group: g, nodes: [this.self], weights: [group.members.length], total: group.members.length });
      }
    }
    for (const e of remote) {
      if (!e.groups) continue;
      for (const [g, nodes] of e.groups) {
        const key = `${g}\u0000${e.filter}`;
        let c = candidates.get(key);
        if (!c) candidates.set(key, (c = { filter: e.filter, group: g, nodes: [], weights: [], total: 0 }));
        for (const [node, members] of nodes) {
          c.nodes.push(node);
          c.weights.push(members);
          c.total += members;
        }
      }
    }
    let n = 0;
    for (const [key, c] of candidates) {
      let slot: number;
      if (this.cfg.sharedDispatchStrategy === 'round_robin') {
        const next = this.roundRobin.get(key) ?? 0;
        this.roundRobin.set(key, next + 1);
        slot = next % c.total;
      } else {
        slot = Math.floor(Math.random() * c.total);
      }
      let i = 0;
      while (i < c.nodes.length - 1 && slot >= c.weights[i]!) slot -= c.weights[i++]!;
      const node = c.nodes[i]!;
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

  forwardFlushed(to: readonly string[]): Promise<void> {
    if (to.length === 1) return this.turnFlush(to[0]!);
    // several nodes (or, never expected, none: then every node)
    if (to.length === 0) return this.turnFlush(undefined);
    return Promise.all(to.map((n) => this.turnFlush(n))).then(() => undefined);
  }

  /**
   * The flush for `node` (undefined: every node) covering what this I/O turn forwarded,
   * started at its end: one flush per destination and turn, so a publisher waits only for
   * the nodes its message went to (frames held for a node that died hold back nobody else).
   */
  private turnFlush(node: string | undefined): Promise<void> {
    let t = this.turn;
    if (t === undefined) {
      const start = new Promise<void>((resolve) => setImmediate(resolve));
      const turn = (t = this.turn = { start, byNode: new Map() });
      // runs before the turn's flushes (registered first): forwards from now on are the next turn's
      void start.then(() => {
        if (this.turn === turn) this.turn = undefined;
      });
    }
    const key = node ?? '';
    let f = t.byNode.get(key);
    if (f === undefined) t.byNode.set(key, (f = t.start.then(() => this.flushUntilDone(node))));
    return f;
  }

  /**
   * The transport's flush, retried until it succeeds: acknowledgements wait rather than lie.
   * The transport keeps QoS 1/2 forwards and resends them once it is back, so a retry right
   * after it reconnects lets acknowledgements resume at once.
   */
  private async flushUntilDone(node: string | undefined): Promise<void> {
    for (;;) {
      try {
        return await this.transport.flush(node);
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

  /** Returns what the forwarding acknowledgement waits for: the copies durable sessions made of it. */
  private receive(target: ForwardTarget, bytes: Uint8Array): Promise<void> | undefined {
    let msg: Message;
    try {
      // The payload stays a view into the transport's buffer, as a local PUBLISH's stays a
      // view into its socket read: sessions copy what they keep (detachPayload). A copy here
      // was one more per message: wasted on QoS 0 written out at once, and for a queued
      // message detachPayload copied the (pooled) copy again.
      msg = decodeMessage(bytes, false);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'undecodable forwarded message');
      return undefined;
    }
    const w = this.b.durable?.writer;
    const before = w === undefined ? 0 : w.appends;
    if (target.kind === 'session') this.deliverMoved(target.clientid ?? '', msg, Date.now() + this.cfg.rpcTimeoutMs);
    else {
      this.b.deliverForwarded(msg, target);
      // a session that just moved from here to another node gets it there (moved-sessions.ts)
      if (target.kind === 'route' && !this.moved.empty) this.moved.forward(msg);
    }
    return w === undefined || w.appends === before ? undefined : w.barrier();
  }

  /**
   * A message the node a session just left sent on to it here. The takeover's answer and
   * this forward race: one that comes before the session's import is looked for again a
   * moment later (its acknowledgement does not wait: the receiver's acknowledgements are
   * cumulative, and would hold every other node's publishers back meanwhile).
   */
  private deliverMoved(clientid: string, msg: Message, deadline: number): void {
    const s = this.b.sessions.get(clientid);
    if (s !== undefined) {
      // copies may come both ways (sent on, and straight here) for a while after the last one
      // sent on: one copy each for the dedup's window after it
      const until = Date.now() + 3 * this.cfg.sessionMoveGraceMs;
      if (s.moveDedup === undefined) s.moveDedup = new MoveDedup(until);
      else s.moveDedup.extend(until);
      for (const opts of this.b.router.subscriberOptions(clientid, msg)) s.deliver(msg, opts);
      return;
    }
    // it moved on from here again
    if (this.moved.forwardSession(clientid, msg)) return;
    if (Date.now() > deadline || this.stopped) return void this.log.debug({ clientid, topic: msg.topic }, 'a message sent on for a moved session that is not here');
    const kept = { ...msg, payload: Buffer.from(msg.payload) };
    setTimeout(() => this.deliverMoved(clientid, kept, deadline), SESSION_RETRY_MS).unref();
  }
}
