/**
 * The cluster-wide configuration the management API edits (EMQX keeps it cluster-wide):
 * applications (API credentials) and the banned table. Kept in the ClusterStore, so every
 * node and gateway sees a change (ClusterStore.onConfigChange) within a second.
 */

/** An application of EMQX's /api/v4/apps: an appid and secret for the management API's Basic auth. */
export interface AppRecord {
  appid: string;
  name: string;
  /** 'sha256:<salt>:<hex>': the secret itself is never stored */
  secretHash: string;
  desc: string;
  /** false: the credentials are refused */
  status: boolean;
  /** epoch seconds after which the credentials are refused; EMQX's 'undefined' for never */
  expired: number | 'undefined';
}

export type BannedAs = 'clientid' | 'username' | 'peerhost';

/** As EMQX's /api/v4/banned has it; `at` and `until` are epoch seconds. */
export interface BannedEntry {
  who: string;
  as: BannedAs;
  reason: string;
  by: string;
  at: number;
  until: number;
}

/** Which part of the configuration changed, as ClusterStore.onConfigChange tells it. */
export type ConfigKind = 'apps' | 'banned';

/** The order ClusterStore.apps() and banned() list in: UTF-16 code units, as Array#sort has it (not locale-dependent). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts by appid. */
export function compareApps(a: AppRecord, b: AppRecord): number {
  return compareStrings(a.appid, b.appid);
}

/** Sorts by `as`, then `who`: a stable order for paging. */
export function compareBanned(a: BannedEntry, b: BannedEntry): number {
  return compareStrings(a.as, b.as) || compareStrings(a.who, b.who);
}

/** A copy with exactly the AppRecord fields (a caller's extra properties are not stored). */
export function copyApp(a: AppRecord): AppRecord {
  return { appid: a.appid, name: a.name, secretHash: a.secretHash, desc: a.desc, status: a.status, expired: a.expired };
}

/** A copy with exactly the BannedEntry fields. */
export function copyBanned(e: BannedEntry): BannedEntry {
  return { who: e.who, as: e.as, reason: e.reason, by: e.by, at: e.at, until: e.until };
}

/** The AppRecord in `v` (fields copied, extras dropped), or undefined if it is not one. */
export function asAppRecord(v: unknown): AppRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (
    typeof r.appid !== 'string' ||
    typeof r.name !== 'string' ||
    typeof r.secretHash !== 'string' ||
    typeof r.desc !== 'string' ||
    typeof r.status !== 'boolean' ||
    !(r.expired === 'undefined' || (typeof r.expired === 'number' && Number.isFinite(r.expired)))
  ) {
    return undefined;
  }
  return copyApp(r as unknown as AppRecord);
}

/** The BannedEntry in `v` (fields copied, extras dropped), or undefined if it is not one. */
export function asBannedEntry(v: unknown): BannedEntry | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (
    typeof r.who !== 'string' ||
    (r.as !== 'clientid' && r.as !== 'username' && r.as !== 'peerhost') ||
    typeof r.reason !== 'string' ||
    typeof r.by !== 'string' ||
    typeof r.at !== 'number' ||
    !Number.isFinite(r.at) ||
    typeof r.until !== 'number' ||
    !Number.isFinite(r.until)
  ) {
    return undefined;
  }
  return copyBanned(r as unknown as BannedEntry);
}

/** The store's key for a banned entry: `<as>:<who>` (`as` holds no colon, so this is unambiguous). */
export function bannedKey(as: BannedAs, who: string): string {
  return `${as}:${who}`;
}
