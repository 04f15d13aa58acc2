import type { Logger } from '../shared/logger.js';
import type { ClusterStore } from '../shared/cluster/store.js';
import { telemetryData, telemetryRecord } from './api/v4/telemetry.js';
import type { ClusterClient } from './cluster-client.js';

/**
 * Posts the telemetry data (GET /api/v4/telemetry/data's) to the configured report URL
 * every `intervalMs` while telemetry is enabled cluster-wide. Only started when a URL is
 * configured (STARLING_TELEMETRY_URL, unset by default): otherwise nothing leaves the machine.
 */
export function startTelemetryReport(o: { url: string; intervalMs: number; cluster: ClusterClient; store: ClusterStore; log: Logger }): () => void {
  let running = false;
  const report = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      if (!(await telemetryRecord(o.store)).enabled) return;
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
