import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/logger.js';
import type { ClusterStore } from '../shared/cluster/store.js';
import { telemetryData, telemetryRecord } from './api/v4/telemetry.js';
import type { ClusterClient } from './cluster-client.js';

/**
 * Posts the telemetry data (GET /api/v4/telemetry/data's) to the configured report URL
 * every `intervalMs` while telemetry is enabled cluster-wide. Only started when a URL is
 * configured (STARLING_TELEMETRY_URL, unset by default): otherwise nothing leaves the machine.
 * Several gateways may have it: each interval's report is claimed in the store first (an
 * atomic create of that interval's record), so the cluster reports once per interval.
 */
export function startTelemetryReport(o: { url: string; intervalMs: number; cluster: ClusterClient; store: ClusterStore; log: Logger }): () => void {
  let running = false;
  const me = randomUUID();
  /** true if this gateway won the current interval's report; the claim of the one before goes */
  const claim = async (): Promise<boolean> => {
    const slot = Math.floor(Date.now() / o.intervalMs);
    const won = await o.store.configPut('telemetry', { key: `report:${slot}`, enabled: true, uuid: me }, 'create');
    if (won) await o.store.configDelete('telemetry', `report:${slot - 1}`);
    return won;
  };
  const report = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      if (!(await telemetryRecord(o.store)).enabled || !(await claim())) return;
      const body = JSON.stringify(await telemetryData(o.cluster, o.store));
      const res = await fetch(o.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
      if (!res.ok) o.log.warn({ status: res.status }, 'telemetry report refused');
      await res.body?.cancel();
    } catch (err) {
      o.log.debug({ err: (err as Error).message }, 'telemetry report failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void report(), o.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
