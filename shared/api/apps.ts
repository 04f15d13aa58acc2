/**
 * The applications of EMQX's /api/v4/apps: an appid and secret for the management API's
 * Basic auth. Cluster configuration (EMQX keeps it cluster-wide): stored in the
 * ClusterStore as config kind 'apps' (shared/cluster/config-kinds.ts), so every gateway sees
 * a change within a second.
 */

/** One application, as the store keeps it. */
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
  return { appid: r.appid, name: r.name, secretHash: r.secretHash, desc: r.desc, status: r.status, expired: r.expired };
}
