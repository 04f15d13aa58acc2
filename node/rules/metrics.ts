import type { ActionMetrics, RuleMetrics } from '../../shared/api/rules.js';

/** How often the speeds are updated, and their windows in ticks (EMQX: 5 s for `speed`, 5 min for `speed_last5m`). */
export const TICK_MS = 1000;
const SPEED_WINDOW = 5;
const LAST5M_WINDOW = 300;

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** One rule's counters on this node; kept across updates of the rule, dropped with it. */
export class RuleCounters {
  matched = 0;
  private last = 0;
  private speed = 0;
  private speedMax = 0;
  private last5m = 0;

  /** One tick: the rate since the last one folded into the moving averages. */
  tick(seconds: number): void {
    const now = (this.matched - this.last) / seconds;
    this.last = this.matched;
    this.speed = (this.speed * (SPEED_WINDOW - 1) + now) / SPEED_WINDOW;
    this.last5m = (this.last5m * (LAST5M_WINDOW - 1) + now) / LAST5M_WINDOW;
    if (this.speed > this.speedMax) this.speedMax = this.speed;
  }

  values(): RuleMetrics {
    return { matched: this.matched, speed: round2(this.speed), speed_max: round2(this.speedMax), speed_last5m: round2(this.last5m) };
  }
}

export const zeroRule = (): RuleMetrics => ({ matched: 0, speed: 0, speed_max: 0, speed_last5m: 0 });
export const zeroAction = (): ActionMetrics => ({ success: 0, failed: 0 });
