/**
 * Failed Basic-auth attempts per source address, against brute force of the AppSecret: after
 * `maxFailures` failures within `windowMs` of an address's first one, that address is locked
 * out until the window ends (every attempt refused unchecked, so a lock-out tells nothing
 * about the secret tried). Other addresses, and requests that succeed, are not counted or
 * slowed. At most `maxTracked` addresses are remembered: past that, expired windows are
 * forgotten first, then the oldest.
 */
export interface FailureLimits {
  /** failures that lock an address out; 0: never */
  maxFailures: number;
  windowMs: number;
  maxTracked: number;
}

interface Window {
  /** ms of the window's first failure */
  since: number;
  failures: number;
}

export class AuthFailures {
  /** in the order of `since`: a new window is inserted at the end */
  private readonly byAddress = new Map<string, Window>();

  constructor(
    private readonly limits: FailureLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many ms `address` must wait before its next attempt is checked; 0: it may try now. */
  lockedFor(address: string): number {
    const w = this.byAddress.get(address);
    if (!w) return 0;
    const left = w.since + this.limits.windowMs - this.now();
    if (left <= 0) {
      this.byAddress.delete(address);
      return 0;
    }
    return w.failures >= this.limits.maxFailures ? left : 0;
  }

  /** An attempt from `address` was refused. */
  failed(address: string): void {
    if (this.limits.maxFailures <= 0) return;
    const now = this.now();
    let w = this.byAddress.get(address);
    if (!w || now - w.since >= this.limits.windowMs) {
      this.byAddress.delete(address);
      this.makeRoom(now);
      w = { since: now, failures: 0 };
      this.byAddress.set(address, w);
    }
    w.failures++;
  }

  /** addresses remembered */
  get size(): number {
    return this.byAddress.size;
  }

  private makeRoom(now: number): void {
    if (this.byAddress.size < this.limits.maxTracked) return;
    // oldest first: drop the expired windows, then the oldest live one if still full
    for (const [address, w] of this.byAddress) {
      if (this.byAddress.size < this.limits.maxTracked && now - w.since < this.limits.windowMs) break;
      this.byAddress.delete(address);
    }
  }
}
