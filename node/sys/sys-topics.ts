import { STAT_NAMES, METRIC_NAMES } from '../../shared/emqx-names.js';
import { formatDatetime, formatUptime } from '../../shared/time-format.js';
import { SYSDESCR, VERSION } from '../../shared/version.js';
import type { SysHost } from '../core/ports.js';

/**
 * The `$SYS/brokers/<node>/...` topics as EMQX publishes them: version and sysdescr
 * (retained) at start, uptime and datetime every heartbeat, stats and metrics every
 * sys interval.
 */
export class SysTopics {
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly broker: SysHost) {}

  private get prefix(): string {
    return `$SYS/brokers/${this.broker.nodeName}`;
  }

  start(): void {
    const b = this.broker;
    b.publishSys('$SYS/brokers', b.nodeName, true);
    b.publishSys(`${this.prefix}/version`, VERSION, true);
    b.publishSys(`${this.prefix}/sysdescr`, SYSDESCR, true);
    if (b.cfg.sysHeartbeatMs > 0) this.every(b.cfg.sysHeartbeatMs, () => this.heartbeat());
    if (b.cfg.sysIntervalMs > 0) this.every(b.cfg.sysIntervalMs, () => this.tick());
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  heartbeat(): void {
    const b = this.broker;
    b.publishSys(`${this.prefix}/uptime`, formatUptime(Date.now() - b.startedAt));
    b.publishSys(`${this.prefix}/datetime`, formatDatetime(Date.now()));
  }

  tick(): void {
    const b = this.broker;
    const stats = b.stats.toObject();
    for (const name of STAT_NAMES) {
      b.publishSys(`${this.prefix}/stats/${name.replace(/\./g, '/')}/count`, String(stats[`${name}.count`]));
      b.publishSys(`${this.prefix}/stats/${name.replace(/\./g, '/')}/max`, String(stats[`${name}.max`]));
    }
    const metrics = b.metrics.toObject();
    for (const name of METRIC_NAMES) b.publishSys(`${this.prefix}/metrics/${name.replace(/\./g, '/')}`, String(metrics[name]));
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }
}
