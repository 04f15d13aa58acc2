import { TokenBucket } from '../core/token-bucket.js';

/**
 * The rate at which a listener accepts new connections (EMQX's max_conn_rate): a token bucket
 * for the whole listener and one per source address, each allowing a second's worth at once.
 * 0 turns either off. Buckets of addresses that have refilled are forgotten (prune).
 */
export class ConnRateLimit {
  private readonly all: TokenBucket | undefined;
  private readonly byAddress = new Map<string, TokenBucket>();

  constructor(
    perListener: number,
    private readonly perAddress: number,
    now = Date.now(),
  ) {
    this.all = perListener > 0 ? new TokenBucket(perListener, perListener, now) : undefined;
  }

  /** Whether a new connection from `address` may be accepted now (it is counted if so). */
  admit(address: string, now: number): boolean {
    if (this.perAddress > 0) {
      let b = this.byAddress.get(address);
      if (b === undefined) this.byAddress.set(address, (b = new TokenBucket(this.perAddress, this.perAddress, now)));
      if (!b.tryTake(now)) return false;
    }
    return this.all === undefined || this.all.tryTake(now);
  }

  /** Forgets the addresses whose bucket is full again (called by the once-a-second sweep). */
  prune(now: number): void {
    for (const [address, b] of this.byAddress) if (b.full(now)) this.byAddress.delete(address);
  }
}
