/**
 * The dashboard users of EMQX 3's /api/v3/users (emqx_dashboard's admins): a username, its
 * password and free-form tags. Cluster configuration, as EMQX keeps its admin table
 * cluster-wide: stored in the ClusterStore as config kind 'users'
 * (shared/cluster/config-kinds.ts), so every gateway sees a change within a second.
 */

/** One user, as the store keeps it. */
export interface UserRecord {
  username: string;
  /** 'sha256:<salt>:<hex>', as apps' secrets: the password itself is never stored */
  passwordHash: string;
  tags: string;
}

/** The UserRecord in `v` (fields copied, extras dropped), or undefined if it is not one. */
export function asUserRecord(v: unknown): UserRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.username !== 'string' || r.username === '' || typeof r.passwordHash !== 'string' || typeof r.tags !== 'string') return undefined;
  return { username: r.username, passwordHash: r.passwordHash, tags: r.tags };
}
