import { cpus, freemem, totalmem } from 'node:os';
import type { Config } from '../../shared/config.js';
import type { AlarmThresholds } from '../../shared/api/alarms.js';
import type { Listener } from '../listeners/listener.js';
import { nowMicros, type Alarms } from './alarms.js';

/**
 * What raises and clears the node's alarms, with EMQX's names, messages and details:
 * os_mon's memory and CPU watermarks and a listener's connections against its max_conns,
 * checked every `checkIntervalMs` (EMQX checks once a minute), and the cluster's store and
 * transport, whose `connected` flag is polled often (a boolean read) and which raise their
 * alarm only after `clusterGraceMs` down, so a reconnect blip raises nothing.
 */

/** A connection to a cluster service (the store's and the transport's have these). */
export interface ClusterLink {
  readonly connected: boolean;
  onReconnect(cb: () => void): void;
}

/** What the checks read of the machine; tests give their own. */
export interface Probe {
  /** bytes */
  memory(): { total: number; free: number; rss: number };
  /** CPU time since boot over every core, ms: busy (user, nice, sys, irq) and all */
  cpuTimes(): { busy: number; total: number };
}

export const osProbe: Probe = {
  memory: () => ({ total: totalmem(), free: freemem(), rss: process.memoryUsage.rss() }),
  cpuTimes: () => {
    let busy = 0;
    let total = 0;
    for (const { times: t } of cpus()) {
      busy += t.user + t.nice + t.sys + t.irq;
      total += t.user + t.nice + t.sys + t.irq + t.idle;
    }
    return { busy, total };
  },
};

export interface MonitorHost {
  readonly cfg: Config;
  readonly alarms: Alarms;
  readonly listeners: readonly Listener[];
}

export const thresholdsOf = (cfg: Config): AlarmThresholds => ({
  checkIntervalMs: cfg.alarmCheckIntervalMs,
  sysmemHighWatermark: cfg.alarmSysmemHighWatermark,
  procmemHighWatermark: cfg.alarmProcmemHighWatermark,
  cpuHighWatermark: cfg.alarmCpuHighWatermark,
  cpuLowWatermark: cfg.alarmCpuLowWatermark,
  connsHighWatermark: cfg.alarmConnsHighWatermark,
  clusterGraceMs: cfg.alarmClusterGraceMs,
});

const PERCENTS = ['sysmemHighWatermark', 'procmemHighWatermark', 'cpuHighWatermark', 'cpuLowWatermark', 'connsHighWatermark'] as const;

/** Why `t` cannot be in force, or undefined when it can. */
export function thresholdsFault(t: AlarmThresholds): string | undefined {
  for (const k of PERCENTS) if (t[k] < 0 || t[k] > 100) return `${k} must be a percentage (0 to 100), got ${t[k]}`;
  if (t.cpuLowWatermark > t.cpuHighWatermark) return `cpuLowWatermark (${t.cpuLowWatermark}) must not exceed cpuHighWatermark (${t.cpuHighWatermark})`;
  if (t.checkIntervalMs < 10) return `checkIntervalMs must be at least 10, got ${t.checkIntervalMs}`;
  if (t.clusterGraceMs < 0) return `clusterGraceMs must not be negative, got ${t.clusterGraceMs}`;
  return undefined;
}

/** The alarm of each cluster service, and when it was last seen down. */
interface WatchedLink {
  link: ClusterLink;
  alarm: string;
  what: string;
  service: string;
  downSince: number | undefined;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export class AlarmMonitors {
  private t: AlarmThresholds;
  private readonly links: WatchedLink[] = [];
  private checkTimer: NodeJS.Timeout | undefined;
  private linkTimer: NodeJS.Timeout | undefined;
  private lastCpu: { busy: number; total: number } | undefined;
  private started = false;

  constructor(
    private readonly host: MonitorHost,
    private readonly probe: Probe = osProbe,
  ) {
    this.t = thresholdsOf(host.cfg);
  }

  get thresholds(): AlarmThresholds {
    return { ...this.t };
  }

  /**
   * Watches a cluster service: `cluster_<kind>_unreachable` while it is down for longer than
   * the grace time, cleared as soon as it is back.
   */
  watch(kind: 'store' | 'transport', service: string, link: ClusterLink): void {
    const w: WatchedLink = { link, alarm: `cluster_${kind}_unreachable`, what: `Cluster ${kind} (${service})`, service, downSince: undefined };
    this.links.push(w);
    link.onReconnect(() => this.checkLink(w, Date.now()));
  }

  start(): void {
    this.started = true;
    this.check();
    this.schedule();
  }

  stop(): void {
    this.started = false;
    clearInterval(this.checkTimer);
    clearInterval(this.linkTimer);
  }

  /** Puts new thresholds in force (the ones not given are kept) and checks at once against them. */
  configure(changes: Partial<AlarmThresholds>): AlarmThresholds {
    this.t = { ...this.t, ...changes };
    if (this.started) this.schedule();
    this.check();
    return this.thresholds;
  }

  private schedule(): void {
    clearInterval(this.checkTimer);
    clearInterval(this.linkTimer);
    this.checkTimer = setInterval(() => this.check(), this.t.checkIntervalMs);
    this.checkTimer.unref();
    if (this.links.length === 0) return;
    // polling a flag is cheap: often enough that the alarm comes soon after the grace time
    this.linkTimer = setInterval(() => this.checkLinks(), Math.max(50, Math.min(1000, this.t.clusterGraceMs / 4)));
    this.linkTimer.unref();
  }

  /** Every check, as one round of EMQX's os_mon and listener watermarks. */
  check(): void {
    this.checkMemory();
    this.checkCpu();
    this.checkListeners();
    this.checkLinks();
  }

  private checkMemory(): void {
    const a = this.host.alarms;
    const { total, free, rss } = this.probe.memory();
    if (total <= 0) return;
    const sys = this.t.sysmemHighWatermark;
    if (((total - free) / total) * 100 > sys) a.activate('high_system_memory_usage', { high_watermark: sys }, `System memory usage is higher than ${sys}%`);
    else a.deactivate('high_system_memory_usage');
    const proc = this.t.procmemHighWatermark;
    if ((rss / total) * 100 > proc) a.activate('high_process_memory_usage', { pid: String(process.pid), high_watermark: proc }, `Process memory usage is higher than ${proc}%`);
    else a.deactivate('high_process_memory_usage');
  }

  /** CPU busy over the time since the last check (the first check only takes the baseline, as EMQX skips a 0 reading). */
  private checkCpu(): void {
    const now = this.probe.cpuTimes();
    const last = this.lastCpu;
    this.lastCpu = now;
    if (!last || now.total <= last.total) return;
    const usage = round2(((now.busy - last.busy) / (now.total - last.total)) * 100);
    const { cpuHighWatermark: high, cpuLowWatermark: low } = this.t;
    if (usage > high) this.host.alarms.activate('high_cpu_usage', { usage, high_watermark: high, low_watermark: low }, `${usage}% cpu usage`);
    else if (usage < low) this.host.alarms.deactivate('high_cpu_usage');
  }

  /** One alarm per listener, named after it as EMQX names per-instance alarms (`conn_congestion/...`). */
  private checkListeners(): void {
    const hw = this.t.connsHighWatermark;
    for (const l of this.host.listeners) {
      if (l.maxConns <= 0) continue;
      const name = `too_many_connections/${l.protocol}`;
      if ((l.current / l.maxConns) * 100 > hw) {
        const details = { listener: l.protocol, listen_on: l.info().listen_on, current_conns: l.current, max_conns: l.maxConns, high_watermark: hw };
        this.host.alarms.activate(name, details, `Connections on listener ${l.protocol} are more than ${hw}% of its max_conns`);
      } else {
        this.host.alarms.deactivate(name);
      }
    }
  }

  private checkLinks(): void {
    const now = Date.now();
    for (const w of this.links) this.checkLink(w, now);
  }

  private checkLink(w: WatchedLink, now: number): void {
    if (w.link.connected) {
      w.downSince = undefined;
      this.host.alarms.deactivate(w.alarm);
      return;
    }
    w.downSince ??= now;
    if (now - w.downSince < this.t.clusterGraceMs) return;
    const since = nowMicros() - (now - w.downSince) * 1000;
    this.host.alarms.activate(w.alarm, { service: w.service, unreachable_since: since }, `${w.what} is unreachable`);
  }
}
