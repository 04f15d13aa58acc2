/**
 * A timer for delays a client chooses (session expiry, will delay, `$delayed/<seconds>`),
 * which MQTT allows up to 0xFFFFFFFE seconds. Node's timers hold at most 2^31-1 ms (about
 * 24.8 days): a longer delay fires at once, with a TimeoutOverflowWarning. This one waits in
 * steps of at most that, against the due time, so any delay holds. Unref'd: a pending expiry
 * never keeps the process alive.
 */
const MAX_STEP_MS = 2 ** 31 - 1;

export class LongTimer {
  private timer: NodeJS.Timeout;
  private readonly due: number;

  constructor(
    private readonly fire: () => void,
    delayMs: number,
  ) {
    this.due = Date.now() + delayMs;
    this.timer = this.arm(delayMs);
  }

  private arm(ms: number): NodeJS.Timeout {
    const t = setTimeout(() => this.step(), Math.max(0, Math.min(ms, MAX_STEP_MS)));
    t.unref();
    return t;
  }

  private step(): void {
    const left = this.due - Date.now();
    if (left > 0) this.timer = this.arm(left);
    else this.fire();
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}
