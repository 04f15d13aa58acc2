/**
 * A token bucket (esockd's rate limit in EMQX): `rate` tokens a second, holding at most
 * `burst`. A bucket is two numbers, cheap enough for one per connection.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  private refill(now: number): void {
    if (now <= this.at) return;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = now;
  }

  /** Takes a token if there is one. */
  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Takes `n` tokens even when there are not so many (the bucket goes into debt: what was
   * already read is handled, and paid for by waiting); returns how many ms to wait before
   * taking more, 0 when there is no need.
   */
  take(now: number, n = 1): number {
    this.refill(now);
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }

  /** Whether it has refilled completely: forgetting it changes nothing. */
  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }
}
