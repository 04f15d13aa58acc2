import type { ClusterStore } from '../shared/cluster/store.js';
import type { RpcTransport } from '../shared/cluster/rpc-transport.js';
import { CODE } from '../shared/result-codes.js';
import type { Slice } from '../shared/api/page.js';
import { RpcError, type RpcMethod, type RpcParams, type RpcReply } from '../shared/rpc.js';
import { ApiError, notFound } from './api/errors.js';

/** How long the live-node list is reused: a load balancer probing /status must not cost a Redis call each. */
const NODES_CACHE_MS = 250;

/** How many lists (a method, its nodes and query) page() remembers the counts of. */
const COUNTS_KEPT = 64;

/**
 * Told of every RPC the gateway makes, once answered or failed: the method, the node, the
 * seconds it took and whether the RPC itself failed (timeout, no responder, transport:
 * result code 101). A node's own refusal (a bad topic, an unknown client) is an answer.
 */
export type RpcObserver = (method: string, node: string, seconds: number, failed: boolean) => void;

/** A node of the cluster registry, with whether its heartbeat is fresh. */
export interface RegisteredNode {
  name: string;
  live: boolean;
}

/**
 * The gateway's view of the cluster: the live nodes (from the registry's heartbeats) and
 * RPC to one node or to every node. A cluster-wide call addresses each live node on its
 * own subject and needs every answer: one failure or timeout fails the whole call with
 * result code 101 naming the node, so a reply missing a node can never pass as success.
 */
export class ClusterClient {
  private cached: { at: number; nodes: string[] } | undefined;
  /** page(): each list's node counts as last answered, by list, nodes and query */
  private readonly lastCounts = new Map<string, number[]>();

  constructor(
    private readonly transport: RpcTransport,
    private readonly store: ClusterStore,
    private readonly opts: { rpcTimeoutMs: number; heartbeatTtlMs: number; observe?: RpcObserver },
  ) {}

  /** Every node in the registry, live or dead but not purged yet, in name order (not cached: GET /metrics caches its own scrape). */
  async registered(): Promise<RegisteredNode[]> {
    const now = Date.now();
    return (await this.store.nodes()).map((r) => ({ name: r.name, live: now - r.heartbeatAt <= this.opts.heartbeatTtlMs })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Live nodes in name order (the order rows are paged in). */
  async nodes(): Promise<string[]> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < NODES_CACHE_MS) return this.cached.nodes;
    let records;
    try {
      records = await this.store.nodes();
    } catch (err) {
      throw new ApiError(200, CODE.RPC_ERROR, `cluster registry unavailable: ${(err as Error).message}`);
    }
    const nodes = records
      .filter((r) => now - r.heartbeatAt <= this.opts.heartbeatTtlMs)
      .map((r) => r.name)
      .sort();
    this.cached = { at: now, nodes };
    return nodes;
  }

  /** Calls one node; an unknown node is 404, a failed call 101. */
  async one<M extends RpcMethod>(node: string, method: M, params: RpcParams<M>): Promise<RpcReply<M>> {
    if (!(await this.nodes()).includes(node)) throw notFound(`node ${node}`);
    return this.call(node, method, params);
  }

  /** Calls every live node in parallel; answers in node order. */
  async all<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<{ node: string; data: RpcReply<M> }[]> {
    const nodes = await this.nodes();
    return Promise.all(nodes.map(async (node) => ({ node, data: await this.call(node, method, params) })));
  }

  /**
   * Calls one node by name, live or not (no membership check), within `timeoutMs`. Every
   * RPC of the gateway goes through here, so this is where RpcObserver hears of them.
   */
  async call<M extends RpcMethod>(node: string, method: M, params: RpcParams<M>, timeoutMs = this.opts.rpcTimeoutMs): Promise<RpcReply<M>> {
    const started = this.opts.observe ? process.hrtime.bigint() : 0n;
    let failed = false;
    try {
      return await this.transport.request(node, method, params, timeoutMs);
    } catch (err) {
      if (err instanceof RpcError && err.code !== CODE.RPC_ERROR && err.code !== CODE.UNKNOWN) {
        // a node's own answer (bad topic, ...): the request was wrong, not the RPC
        throw new ApiError(err.code === CODE.NOT_FOUND ? 404 : 400, err.code, err.message);
      }
      failed = true;
      const reason = err instanceof Error ? err.message : String(err);
      throw new ApiError(200, CODE.RPC_ERROR, reason.includes(node) ? reason : `rpc to ${node} failed: ${reason}`);
    } finally {
      this.opts.observe?.(method, node, Number(process.hrtime.bigint() - started) / 1e9, failed);
    }
  }

  /**
   * One page of a cluster-wide list: rows are ordered by node name, then the node's own
   * stable order, and the offset is global over that concatenation. Every node is asked
   * for its count and only the nodes holding part of the page for their slice, so no row
   * outside the page crosses the network.
   *
   * The slices are first worked out from the counts this list had last time and asked for
   * together with the counts, in one round of parallel calls; a slice the counts now
   * answered place otherwise (a node gained or lost clients before the page) is asked for
   * again. A page then costs one round trip, not two (count, then slice), in a cluster
   * whose counts did not move across the page's start.
   */
  async page<C extends RpcMethod, L extends RpcMethod, Row>(
    countMethod: C,
    listMethod: L,
    params: RpcParams<C>,
    page: number,
    limit: number,
    nodes?: string[],
  ): Promise<{ rows: Row[]; total: number }> {
    const targets = nodes ?? (await this.nodes());
    const key = `${countMethod} ${targets.join(',')} ${JSON.stringify(params)}`;
    const from = (page - 1) * limit;
    const list = (node: string, slice: Slice) => this.call(node, listMethod, { ...(params as object), ...slice } as RpcParams<L>) as Promise<Row[]>;
    const guessed = new Map<string, { slice: Slice; rows: Promise<Row[]> }>();
    const seen = this.lastCounts.get(key);
    for (const [node, slice] of seen ? slices(targets, seen, from, limit) : []) {
      const rows = list(node, slice);
      // handled here: a guess the counts turn down, or a failure while they are awaited, is
      // not an unhandled rejection (one that is used is awaited below and fails the page)
      rows.catch(() => {});
      guessed.set(node, { slice, rows });
    }
    const counts = await Promise.all(targets.map((n) => this.call(n, countMethod, params) as Promise<number>));
    this.rememberCounts(key, counts);
    const fetches: Promise<Row[]>[] = [];
    for (const [node, slice] of slices(targets, counts, from, limit)) {
      const g = guessed.get(node);
      fetches.push(g && g.slice.offset === slice.offset && g.slice.limit === slice.limit ? g.rows : list(node, slice));
    }
    return { rows: (await Promise.all(fetches)).flat(), total: counts.reduce((a, b) => a + b, 0) };
  }

  private rememberCounts(key: string, counts: number[]): void {
    this.lastCounts.delete(key); // re-inserted last: the oldest key is the first to go
    this.lastCounts.set(key, counts);
    if (this.lastCounts.size > COUNTS_KEPT) this.lastCounts.delete(this.lastCounts.keys().next().value!);
  }
}

/** The slice of each node holding part of rows [from, from + limit) of the nodes' concatenation. */
function slices(nodes: string[], counts: number[], from: number, limit: number): [string, Slice][] {
  const to = from + limit;
  const out: [string, Slice][] = [];
  let start = 0;
  nodes.forEach((node, i) => {
    const end = start + (counts[i] ?? 0);
    if (end > from && start < to) out.push([node, { offset: Math.max(0, from - start), limit: Math.min(end, to) - Math.max(from, start) }]);
    start = end;
  });
  return out;
}
