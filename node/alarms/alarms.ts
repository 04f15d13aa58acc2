import type { Logger } from '../../shared/logger.js';
import type { AlarmList, AlarmRow } from '../../shared/api/alarms.js';
import type { Hooks } from '../core/hooks.js';

/**
 * UNIX time in microseconds, as EMQX stamps alarms (erlang:system_time(microsecond)):
 * performance's origin plus its sub-millisecond clock, so two alarms raised in the same
 * millisecond still differ.
 */
export function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * The node's alarm table, as EMQX's emqx_alarm keeps it: the active alarms by name (one
 * per name: raising an active alarm again changes nothing) and the history of deactivated
 * ones, bounded by `sizeLimit` (alarm.size_limit: the oldest is dropped first; 0 keeps all). Changes are
 * logged and emitted on the alarm hookpoints, where the `$SYS` publisher listens.
 */
export class Alarms {
  private readonly active = new Map<string, AlarmRow>();
  /** deactivated alarms, oldest first */
  private history: AlarmRow[] = [];

  constructor(
    private readonly hooks: Hooks,
    private readonly log: Logger,
    private readonly sizeLimit: number,
    private readonly now: () => number = nowMicros,
  ) {}

  /** Raises `name`; false (and nothing changes) when it is active already. */
  activate(name: string, details: Record<string, unknown>, message: string): boolean {
    if (this.active.has(name)) return false;
    const alarm: AlarmRow = { name, message, details, activate_at: this.now(), deactivate_at: 'infinity', activated: true };
    this.active.set(name, alarm);
    this.log.warn({ alarm: name, details }, `Alarm ${name} is activated, ${message}`);
    const h = this.hooks.alarmActivated;
    if (h.active) h.emit({ alarm: { ...alarm } });
    return true;
  }

  /** Clears `name` into the history; false when it is not active. */
  deactivate(name: string): boolean {
    const alarm = this.active.get(name);
    if (!alarm) return false;
    this.active.delete(name);
    const cleared: AlarmRow = { ...alarm, deactivate_at: this.now(), activated: false };
    // 0: no limit, as EMQX reads it
    if (this.sizeLimit > 0 && this.history.length >= this.sizeLimit) this.history = this.history.slice(this.history.length - this.sizeLimit + 1);
    this.history.push(cleared);
    this.log.warn({ alarm: name }, `Alarm ${name} is deactivated`);
    const h = this.hooks.alarmDeactivated;
    if (h.active) h.emit({ alarm: { ...cleared } });
    return true;
  }

  isActive(name: string): boolean {
    return this.active.has(name);
  }

  /** Active alarms first (in the order raised), then the history oldest first, as EMQX lists them. */
  list(which: AlarmList): AlarmRow[] {
    const out: AlarmRow[] = [];
    if (which !== 'deactivated') out.push(...this.active.values());
    if (which !== 'activated') out.push(...this.history);
    return out.map((a) => ({ ...a }));
  }

  /** Forgets the history; returns how many alarms it held. */
  clearDeactivated(): number {
    const n = this.history.length;
    this.history = [];
    return n;
  }
}
