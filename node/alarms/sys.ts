import type { AlarmEvent, Hooks } from '../core/hooks.js';
import type { SysHost } from '../core/ports.js';

/**
 * EMQX's alarm `publish` action: every alarm raised or cleared on this node is published as
 * JSON (the API's row) to `$SYS/brokers/<node>/alarms/activate` or `.../deactivate`. A
 * subscriber of the alarm hookpoints, on from the start as in EMQX.
 */
export function publishAlarms(hooks: Hooks, host: Pick<SysHost, 'nodeName' | 'publishSys'>): void {
  const send = (event: string, { alarm }: AlarmEvent): void => host.publishSys(`$SYS/brokers/${host.nodeName}/alarms/${event}`, JSON.stringify(alarm));
  hooks.alarmActivated.on((e) => send('activate', e));
  hooks.alarmDeactivated.on((e) => send('deactivate', e));
}
