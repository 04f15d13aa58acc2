import type { ClusterHooks, ForwardOutcome, PublishResult } from './ports.js';

/**
 * The broker's one PublishResult, refilled by every publish(): the PUBLISH path runs at
 * over a million messages a second, and an object per message would be garbage at once.
 */
export class PublishOutcome implements PublishResult, ForwardOutcome {
  delivered = 0;
  forwarded = false;
  backlogged = false;
  readonly to: string[] = [];
  /** a durable session stored a copy: the acknowledgement also waits for the store */
  stored = false;

  /** `host.cluster` is read at each use: the cluster layer is attached after the broker is built */
  constructor(private readonly host: { readonly cluster: ClusterHooks; durableBarrier(): Promise<void> }) {}

  /** Asked only by callers that acknowledge: the turn's flush is not started for the rest. */
  get flushed(): Promise<void> | undefined {
    const f = this.forwarded ? this.host.cluster.forwardFlushed(this.to) : undefined;
    if (!this.stored) return f;
    const s = this.host.durableBarrier();
    return f === undefined ? s : Promise.all([f, s]).then(() => undefined);
  }

  /** A publish that stayed on this node. */
  local(delivered: number): this {
    this.delivered = delivered;
    this.forwarded = false;
    this.backlogged = false;
    this.stored = false;
    return this;
  }
}
