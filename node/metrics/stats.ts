import { STAT_NAMES, type StatName } from '../../shared/emqx-names.js';

const INDEX = new Map<string, number>(STAT_NAMES.map((n, i) => [n, i]));

/** EMQX stats: current gauges and their high watermarks (`<name>.count`, `<name>.max`). */
export class Stats {
  private readonly count = new Float64Array(STAT_NAMES.length);
  private readonly max = new Float64Array(STAT_NAMES.length);
  /** EMQX 3.x's `sessions/persistent` gauge (sessions with clean start 0), which 4.x dropped: only v3Object() reports it */
  private persistent = 0;
  private persistentMax = 0;

  set(name: StatName, value: number): void {
    const i = INDEX.get(name)!;
    this.count[i] = value;
    if (value > this.max[i]!) this.max[i] = value;
  }

  get(name: StatName): number {
    return this.count[INDEX.get(name)!]!;
  }

  toObject(): Record<string, number> {
    const out: Record<string, number> = {};
    STAT_NAMES.forEach((n, i) => {
      out[`${n}.count`] = this.count[i]!;
      out[`${n}.max`] = this.max[i]!;
    });
    return out;
  }

  /** A session became persistent (+1: opened or resumed with clean start 0) or stopped being one (-1: ended). */
  persistentChanged(delta: 1 | -1): void {
    this.persistent += delta;
    if (this.persistent > this.persistentMax) this.persistentMax = this.persistent;
  }

  /** The gauges, with EMQX 3.x's own besides (GET /api/v3/stats). */
  v3Object(): Record<string, number> {
    return { ...this.toObject(), 'sessions.persistent.count': this.persistent, 'sessions.persistent.max': this.persistentMax };
  }
}
