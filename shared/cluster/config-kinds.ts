/**
 * The kinds of cluster-wide configuration (EMQX keeps it cluster-wide), one entry each. The
 * ClusterStore keeps every kind alike (configList/configPut/configDelete, one change notice
 * per write that changed something), so every node and gateway sees a change within a
 * second. Adding a kind (rules, resources, modules, topic-metrics, telemetry) is one entry
 * here; its record type and validation live with its resource under shared/api/.
 */
import { asAppRecord, type AppRecord } from '../api/apps.js';
import { asBannedEntry, bannedKey, type BannedEntry } from '../api/banned.js';
import { asFeatureState, featureStateKey, type FeatureStateRecord } from '../api/feature-states.js';
import { asRuleRecord, type RuleRecord } from '../api/rules.js';
import { asTopicMetricsRecord, type TopicMetricsRecord } from '../api/topic-metrics.js';
import { asDataFileRecord, type DataFileRecord } from '../api/data-files.js';
import { asResourceRecord, type ResourceRecord } from '../api/resources.js';
import { asTelemetryRecord, type TelemetryRecord } from '../api/telemetry.js';
import { asUserRecord, type UserRecord } from '../api/users.js';

/** The fields of T holding a number. */
type NumberField<T> = { [P in keyof T]: T[P] extends number ? P : never }[keyof T] & string;

/** What a kind declares; the stores need nothing else to keep it. */
export interface ConfigKindSpec<T> {
  /** the record's key, unique within its kind (the store replaces or refuses on it) */
  key(record: T): string;
  /**
   * The record in `v` (its fields copied, extras dropped), or undefined if it is not one.
   * Records are copied in and out with it, so a caller mutating one changes nothing stored.
   */
  from(v: unknown): T | undefined;
  /** the order configList() answers in: pages of a list stay stable between requests */
  compare(a: T, b: T): number;
  /**
   * The field holding the epoch seconds up to which a record is in force, for a kind whose
   * records expire: configPurgeExpired() removes those with field <= now.
   */
  expiry?: NumberField<T>;
  /** false: not part of a data export (files of exports, the cluster's own identity) */
  exported?: false;
}

/** Ordering by UTF-16 code units, as Array#sort has it (not locale-dependent). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const kind = <T>(spec: ConfigKindSpec<T>): ConfigKindSpec<T> => spec;

const KINDS = {
  /** the management API's applications (shared/api/apps.ts), by appid */
  apps: kind<AppRecord>({
    key: (a) => a.appid,
    from: asAppRecord,
    compare: (a, b) => compareStrings(a.appid, b.appid),
  }),
  /** the banned table (shared/api/banned.ts), by `as` then `who` */
  banned: kind<BannedEntry>({
    key: (e) => bannedKey(e.as, e.who),
    from: asBannedEntry,
    compare: (a, b) => compareStrings(a.as, b.as) || compareStrings(a.who, b.who),
    expiry: 'until',
  }),
  /** plugin and module states (shared/api/feature-states.ts), by `<scope>/<feature>` */
  feature_states: kind<FeatureStateRecord>({
    key: (r) => featureStateKey(r.scope, r.feature),
    from: asFeatureState,
    compare: (a, b) => compareStrings(a.scope, b.scope) || compareStrings(a.feature, b.feature),
  }),
  /** the topics whose messages every node counts (shared/api/topic-metrics.ts), in registration order */
  topic_metrics: kind<TopicMetricsRecord>({
    key: (r) => r.topic,
    from: asTopicMetricsRecord,
    compare: (a, b) => a.create_time - b.create_time || compareStrings(a.topic, b.topic),
  }),
  /** the rule engine's resources (shared/api/resources.ts), by id, in creation order */
  resources: kind<ResourceRecord>({
    key: (r) => r.id,
    from: asResourceRecord,
    compare: (a, b) => a.created_at - b.created_at || compareStrings(a.id, b.id),
  }),
  /** the rule engine's rules (shared/api/rules.ts), by id, oldest first */
  rules: kind<RuleRecord>({
    key: (r) => r.id,
    from: asRuleRecord,
    compare: (a, b) => a.created_at - b.created_at || compareStrings(a.id, b.id),
  }),
  /** the telemetry switch and the cluster's uuid (shared/api/telemetry.ts): one record */
  telemetry: kind<TelemetryRecord>({
    key: (r) => r.key,
    from: asTelemetryRecord,
    compare: (a, b) => compareStrings(a.key, b.key),
    exported: false,
  }),
  /** the data export files (shared/api/data-files.ts), by filename */
  data_files: kind<DataFileRecord>({
    key: (r) => r.filename,
    from: asDataFileRecord,
    compare: (a, b) => a.created_at - b.created_at || compareStrings(a.filename, b.filename),
    exported: false,
  }),
  /** the dashboard users of /api/v3/users (shared/api/users.ts), by username */
  users: kind<UserRecord>({
    key: (u) => u.username,
    from: asUserRecord,
    compare: (a, b) => compareStrings(a.username, b.username),
  }),
};

/** The name of a kind, as ClusterStore.onConfigChange tells it and the stores key it. */
export type ConfigKind = keyof typeof KINDS;

/** The record type of a kind. */
export type ConfigRecord<K extends ConfigKind> = (typeof KINDS)[K] extends ConfigKindSpec<infer T> ? T : never;

/** Every kind, in a fixed order: what a data export or import iterates. */
export const CONFIG_KINDS = Object.keys(KINDS) as readonly ConfigKind[];

/** The declaration of a kind. */
export function configKind<K extends ConfigKind>(kind: K): ConfigKindSpec<ConfigRecord<K>> {
  return KINDS[kind] as unknown as ConfigKindSpec<ConfigRecord<K>>;
}

export function isConfigKind(s: string): s is ConfigKind {
  return Object.hasOwn(KINDS, s);
}

/** The copy of `record` a store keeps; throws if it is not a record of its kind (a caller's bug). */
export function configCopy<K extends ConfigKind>(kind: K, record: ConfigRecord<K>): ConfigRecord<K> {
  const copy = configKind(kind).from(record);
  if (copy === undefined) throw new TypeError(`not a valid ${kind} record: ${JSON.stringify(record)}`);
  return copy;
}

/** The kind's expiry field, for a purge at `nowSec`; throws for a kind without one or a `nowSec` that is no time. */
export function configExpiry(kind: ConfigKind, nowSec: number): string {
  const field = configKind(kind).expiry;
  if (field === undefined) throw new Error(`config kind ${kind} has no expiry`);
  if (!Number.isFinite(nowSec)) throw new Error(`nowSec must be a finite number, got ${nowSec}`);
  return field;
}
