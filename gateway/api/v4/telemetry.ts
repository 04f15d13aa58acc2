import { randomUUID } from 'node:crypto';
import { TELEMETRY_KEY, type TelemetryRecord } from '../../../shared/api/telemetry.js';
import type { ClusterStore } from '../../../shared/cluster/store.js';
import type { ClusterClient } from '../../cluster-client.js';
import type { Resource } from '../endpoint.js';
import { bodySchema } from '../schema.js';
import { stored } from '../stored.js';

/**
 * PUT/GET /telemetry/status and GET /telemetry/data, EMQX's emqx_telemetry_api. The switch
 * and the cluster's uuid are one cluster config record (kind 'telemetry'), made on first
 * use and kept, so the uuid is the cluster's for good; the data is computed from the live
 * nodes when asked. Nothing is sent anywhere from here: gateway/telemetry-report.ts posts
 * it, and only to a configured URL.
 */

/** EMQX ships telemetry enabled; with no report URL configured that sends nothing. */
const DEFAULT_ENABLED = true;

/** The cluster's telemetry record, made (enabled, with a new uuid) if there is none yet. */
export async function telemetryRecord(store: ClusterStore): Promise<TelemetryRecord> {
  const find = async () => (await stored('telemetry', () => store.configList('telemetry'))).find((r) => r.key === TELEMETRY_KEY);
  const found = await find();
  if (found) return found;
  const made: TelemetryRecord = { key: TELEMETRY_KEY, enabled: DEFAULT_ENABLED, uuid: randomUUID().toUpperCase() };
  // two gateways racing: one create wins, both answer what is stored
  await stored('telemetry', () => store.configPut('telemetry', made, 'create'));
  return (await find()) ?? made;
}

/** The report, as GET /telemetry/data shows it: the spec's fields, summed or taken over the live nodes. */
export async function telemetryData(cluster: ClusterClient, store: ClusterStore): Promise<Record<string, unknown>> {
  const [rec, nodes, plugins, modules] = await Promise.all([telemetryRecord(store), cluster.all('telemetry.node', {}), cluster.all('plugins.list', {}), cluster.all('modules.list', {})]);
  const rows = nodes.map((n) => n.data);
  const first = rows[0];
  const sum = (f: (r: (typeof rows)[number]) => number): number => rows.reduce((s, r) => s + f(r), 0);
  const active = (lists: { data: { name: string; active: boolean }[] }[]): string[] => [...new Set(lists.flatMap((l) => l.data.filter((p) => p.active).map((p) => p.name)))].sort();
  return {
    uuid: rec.uuid,
    // the cluster's: its longest-running node's
    up_time: rows.reduce((m, r) => Math.max(m, r.up_time), 0),
    otp_version: first?.otp_version ?? '',
    os_version: first?.os_version ?? '',
    os_name: first?.os_name ?? '',
    num_clients: sum((r) => r.num_clients),
    nodes_uuid: rows.map((r) => ({ uuid: r.uuid })),
    messages_sent: sum((r) => r.messages_sent),
    messages_received: sum((r) => r.messages_received),
    license: { edition: 'community' },
    emqx_version: first?.version ?? '',
    active_plugins: active(plugins),
    active_modules: active(modules),
  };
}

const statusBody = bodySchema<{ enabled: boolean }>({ type: 'object', required: ['enabled'], properties: { enabled: { type: 'boolean' } } });

export const telemetry: Resource = [
  {
    method: 'PUT',
    path: '/telemetry/status',
    name: 'enable_telemetry',
    descr: 'Enable or disable telemetry',
    handle: async ({ store, body }) => {
      const { enabled } = statusBody(body);
      const rec = await telemetryRecord(store);
      await stored('telemetry', () => store.configPut('telemetry', { ...rec, enabled }, 'upsert'));
      return {};
    },
  },
  {
    method: 'GET',
    path: '/telemetry/status',
    name: 'get_telemetry_status',
    descr: 'Get telemetry status',
    handle: async ({ store }) => ({ data: { enabled: (await telemetryRecord(store)).enabled } }),
  },
  {
    method: 'GET',
    path: '/telemetry/data',
    name: 'get_telemetry_data',
    descr: 'Get reported telemetry data',
    handle: async ({ cluster, store }) => ({ data: await telemetryData(cluster, store) }),
  },
];
