/**
 * EMQX's emqx_telemetry (PUT/GET /api/v4/telemetry/status, GET /api/v4/telemetry/data): the
 * switch and the cluster's uuid are cluster configuration (config kind 'telemetry', one
 * record); the data is computed from the nodes when asked (node/rpc/telemetry.ts).
 */
import type { ParamShapes, RpcOf } from './params-schema.js';

/** The key of the telemetry record; `report:<interval>` records claim an interval's report (gateway/telemetry-report.ts). */
export const TELEMETRY_KEY = 'cluster';

export interface TelemetryRecord {
  key: string;
  enabled: boolean;
  /** the cluster's identity in reports: made once, kept */
  uuid: string;
}

/** The TelemetryRecord in `v` (fields copied, extras dropped), or undefined if it is not one. */
export function asTelemetryRecord(v: unknown): TelemetryRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.key !== 'string' || typeof r.enabled !== 'boolean' || typeof r.uuid !== 'string' || r.uuid === '') return undefined;
  return { key: r.key, enabled: r.enabled, uuid: r.uuid };
}

/** What one node contributes to the telemetry data. */
export interface TelemetryNodeRow {
  /** this node's uuid (made at its start) */
  uuid: string;
  /** ms since the node started */
  up_time: number;
  version: string;
  otp_version: string;
  os_name: string;
  os_version: string;
  num_clients: number;
  messages_sent: number;
  messages_received: number;
}

export const TELEMETRY_PARAMS = {
  'telemetry.node': {},
} as const satisfies ParamShapes;

export type TelemetryRpc = RpcOf<typeof TELEMETRY_PARAMS, { 'telemetry.node': TelemetryNodeRow }>;
