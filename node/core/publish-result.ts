import type { ClusterHooks, ForwardOutcome, PublishResult } from './ports.js';

/**
 * The broker's one PublishResult, refilled by every publish(): the PUBLISH path runs at
 * over a million messages a second, and an object per message would be garbage at once.
 */
export class PublishOutcome implements PublishResult, ForwardOutcome {
  delivered = 0;
  forwarded = false;
  backlogged = false;

  /** `host.cluster` is read at each use: the cluster layer is attached after the broker is built */
  constructor(private readonly host: { readonly cluster: ClusterHooks }) {}

  /** Asked only by callers that acknowledge: the turn's flush is not started for the rest. */
  get flushed(): Promise<void> | undefined {
    return this.forwarded ? this.host.cluster.forwardFlushed() : undefined;
  }

  /** A publish that stayed on this node. */
  local(delivered: number): this {
    this.delivered = delivered;
    this.forwarded = false;
    this.backlogged = false;
    return this;
  }
}
