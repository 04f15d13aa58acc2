/**
 * The banned table of EMQX's /api/v4/banned. Cluster configuration: stored in the
 * ClusterStore as config kind 'banned' (shared/cluster/config-kinds.ts); every node loads it
 * on each change and refuses a banned client at CONNECT.
 */

export type BannedAs = 'clientid' | 'username' | 'peerhost';

/** What a ban can match on. */
export const BANNED_AS: readonly BannedAs[] = ['clientid', 'username', 'peerhost'];

/** As EMQX's /api/v4/banned has it; `at` and `until` are epoch seconds. */
export interface BannedEntry {
  who: string;
  as: BannedAs;
  reason: string;
  by: string;
  at: number;
  until: number;
  /** a description, EMQX 3.x's `desc` (GET /api/v3/banned shows it; v4's rows do not) */
  desc?: string;
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
  const e: BannedEntry = { who: r.who, as: r.as, reason: r.reason, by: r.by, at: r.at, until: r.until };
  if (typeof r.desc === 'string') e.desc = r.desc;
  return e;
}

/** The store's key for a banned entry: `<as>:<who>` (`as` holds no colon, so this is unambiguous). */
export function bannedKey(as: BannedAs, who: string): string {
  return `${as}:${who}`;
}
