import { STAT_NAMES, type StatName } from '../../shared/emqx-names.js';

const INDEX = new Map<string, number>(STAT_NAMES.map((n, i) => [n, i]));

/** EMQX stats: current gauges and their high watermarks (`<name>.count`, `<name>.max`). */
export class Stats {
  private readonly count = new Float64Array(STAT_NAMES.length);
  private readonly max = new Float64Array(STAT_NAMES.length);

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
}
