import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { TELEMETRY_PARAMS, TelemetryNodeRow } from '../../shared/api/telemetry.js';
import type { RpcHandlers } from '../../shared/rpc.js';
import { OTP_RELEASE, VERSION } from '../../shared/version.js';
import type { Broker } from '../broker.js';
import { metricIndex } from '../metrics/metrics.js';

const M_SENT = metricIndex('messages.sent');
const M_RECEIVED = metricIndex('messages.received');

/** The OS's name and version as EMQX's emqx_telemetry reads them: /etc/os-release on Linux, else the kernel's. */
function osInfo(): { name: string; version: string } {
  try {
    const kv = new Map<string, string>();
    for (const line of readFileSync('/etc/os-release', 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line);
      if (m) kv.set(m[1]!, m[2]!.replace(/^"(.*)"$/, '$1'));
    }
    if (kv.has('NAME')) return { name: kv.get('NAME')!, version: kv.get('VERSION_ID') ?? kv.get('VERSION') ?? os.release() };
  } catch {
    /* not Linux, or no os-release: the kernel's names */
  }
  return { name: os.type(), version: os.release() };
}

/** What this node contributes to GET /api/v4/telemetry/data. */
export function telemetryHandlers(b: Broker): Pick<RpcHandlers, keyof typeof TELEMETRY_PARAMS> {
  // a node's identity in the report, for as long as it runs
  const uuid = randomUUID().toUpperCase();
  const osi = osInfo();
  return {
    'telemetry.node': (): TelemetryNodeRow => ({
      uuid,
      up_time: Date.now() - b.startedAt,
      version: VERSION,
      otp_version: OTP_RELEASE,
      os_name: osi.name,
      os_version: osi.version,
      num_clients: b.connections.size,
      messages_sent: b.metrics.values[M_SENT]!,
      messages_received: b.metrics.values[M_RECEIVED]!,
    }),
  };
}
