/**
 * The alarms resource (GET /api/v4/alarms, .../activated, .../deactivated, POST and DELETE
 * /alarms/deactivated): each node's active alarms and its bounded history of cleared ones,
 * and the runtime thresholds of the node's monitors (`alarms.configure`, not part of the
 * public v4 API: operators and tests lower a watermark with it).
 */
import { optional, type ParamShapes, type RpcOf } from './params-schema.js';

/** One alarm as EMQX shows it (the API rows and the `$SYS/brokers/<node>/alarms/*` payloads). */
export interface AlarmRow {
  name: string;
  /** human-readable */
  message: string;
  details: Record<string, unknown>;
  /** UNIX time in microseconds */
  activate_at: number;
  /** UNIX time in microseconds; "infinity" while the alarm is active */
  deactivate_at: number | 'infinity';
  activated: boolean;
}

export const ALARM_LISTS = ['all', 'activated', 'deactivated'] as const;
export type AlarmList = (typeof ALARM_LISTS)[number];

/** The monitors' thresholds (percent) and check interval, as `alarms.configure` sets and answers them. */
export interface AlarmThresholds {
  checkIntervalMs: number;
  sysmemHighWatermark: number;
  procmemHighWatermark: number;
  cpuHighWatermark: number;
  cpuLowWatermark: number;
  connsHighWatermark: number;
  clusterGraceMs: number;
}

const INT = optional('int');

export const ALARMS_PARAMS = {
  'alarms.list': { which: { enum: ALARM_LISTS } },
  'alarms.deactivate': { name: 'string' },
  'alarms.clearDeactivated': {},
  'alarms.configure': {
    checkIntervalMs: INT,
    sysmemHighWatermark: INT,
    procmemHighWatermark: INT,
    cpuHighWatermark: INT,
    cpuLowWatermark: INT,
    connsHighWatermark: INT,
    clusterGraceMs: INT,
  },
} as const satisfies ParamShapes;

export type AlarmsRpc = RpcOf<
  typeof ALARMS_PARAMS,
  {
    /** active ones first, then the history, oldest first (EMQX's order) */
    'alarms.list': AlarmRow[];
    /** true when an alarm of that name was active and now is not */
    'alarms.deactivate': boolean;
    /** how many deactivated alarms were forgotten */
    'alarms.clearDeactivated': number;
    /** the thresholds now in force */
    'alarms.configure': AlarmThresholds;
  }
>;
