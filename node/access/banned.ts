import { readFileSync } from 'node:fs';
import type { BannedAs, BannedEntry } from '../../shared/api/banned.js';
import { canonicalIp } from '../../shared/ip.js';

// Declared with the banned resource (the cluster store keeps the table cluster-wide).
export type { BannedAs, BannedEntry };

export type BannedInput = Partial<BannedEntry> & { who: string; as: BannedAs };

const AS: readonly BannedAs[] = ['clientid', 'username', 'peerhost'];
/** EMQX's default ban length when no `until` is given: five minutes. */
const DEFAULT_SECONDS = 300;

/** Fills EMQX's defaults and validates; peerhost `who` is stored canonically so "::ffff:1.2.3.4" and "1.2.3.4" are one key. */
function normalize(e: unknown, nowMs: number): BannedEntry {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new Error('a banned entry must be an object {"who", "as", ...}');
  const r = e as Record<string, unknown>;
  if (typeof r.as !== 'string' || !AS.includes(r.as as BannedAs)) throw new Error(`"as" must be one of ${AS.join(', ')}, got ${JSON.stringify(r.as)}`);
  const as = r.as as BannedAs;
  if (typeof r.who !== 'string' || r.who === '') throw new Error('"who" must be a non-empty string');
  let who = r.who;
  if (as === 'peerhost') {
    const ip = canonicalIp(who);
    if (!ip) throw new Error(`"who" must be an IP address when "as" is peerhost, got ${JSON.stringify(who)}`);
    who = ip;
  }
  for (const k of ['reason', 'by'] as const) {
    if (r[k] !== undefined && typeof r[k] !== 'string') throw new Error(`"${k}" must be a string`);
  }
  for (const k of ['at', 'until'] as const) {
    if (r[k] !== undefined && (typeof r[k] !== 'number' || !Number.isFinite(r[k]))) throw new Error(`"${k}" must be a number of epoch seconds`);
  }
  const at = (r.at as number | undefined) ?? Math.floor(nowMs / 1000);
  return {
    who,
    as,
    reason: (r.reason as string | undefined) ?? '',
    by: (r.by as string | undefined) ?? 'user',
    at,
    until: (r.until as number | undefined) ?? at + DEFAULT_SECONDS,
  };
}

/**
 * The banned table of one node: a Map per `as` keyed by `who`, so the check made on every
 * CONNECT is three lookups. An entry is in force while `until` > now (emqx_banned:check).
 */
export class BannedList {
  private readonly maps: Record<BannedAs, Map<string, BannedEntry>> = { clientid: new Map(), username: new Map(), peerhost: new Map() };

  constructor(private readonly now: () => number = Date.now) {}

  private nowSec(): number {
    return Math.floor(this.now() / 1000);
  }

  /** Adds or replaces the entry for (as, who); returns it with defaults filled. Throws on a bad entry. */
  add(e: BannedInput): BannedEntry {
    const entry = normalize(e, this.now());
    this.maps[entry.as].set(entry.who, entry);
    return { ...entry };
  }

  delete(as: BannedAs, who: string): boolean {
    const map = this.maps[as];
    if (!map) return false;
    return map.delete(as === 'peerhost' ? (canonicalIp(who) ?? who) : who);
  }

  /** Entries in force, sorted by `as` then `who`, so pages are stable between requests. Expired ones are purged. */
  list(): BannedEntry[] {
    this.purgeExpired();
    const out: BannedEntry[] = [];
    for (const as of [...AS].sort()) {
      const whos = [...this.maps[as].keys()].sort();
      for (const who of whos) out.push({ ...this.maps[as].get(who)! });
    }
    return out;
  }

  get size(): number {
    return this.maps.clientid.size + this.maps.username.size + this.maps.peerhost.size;
  }

  /** The ban that applies to a connecting client, checked clientid, username, peerhost as EMQX does. */
  isBanned(c: { clientid: string; username?: string; peerhost: string }): BannedEntry | undefined {
    // Cheap exit for the common case: nothing banned, no address parsing.
    if (this.size === 0) return undefined;
    const now = this.nowSec();
    return (
      this.lookup('clientid', c.clientid, now) ??
      (c.username ? this.lookup('username', c.username, now) : undefined) ??
      (this.maps.peerhost.size > 0 ? this.lookup('peerhost', canonicalIp(c.peerhost) ?? c.peerhost, now) : undefined)
    );
  }

  /** Drops expired entries; returns how many. */
  purgeExpired(): number {
    const now = this.nowSec();
    let n = 0;
    for (const as of AS) {
      for (const [who, e] of this.maps[as]) {
        if (e.until <= now) {
          this.maps[as].delete(who);
          n++;
        }
      }
    }
    return n;
  }

  /** Swaps in the whole table, as pushed by the cluster store. Throws (keeping the old table) on a bad entry. */
  replaceAll(entries: BannedEntry[]): void {
    const next: Record<BannedAs, Map<string, BannedEntry>> = { clientid: new Map(), username: new Map(), peerhost: new Map() };
    const nowMs = this.now();
    for (const e of entries) {
      const n = normalize(e, nowMs);
      next[n.as].set(n.who, n);
    }
    for (const as of AS) this.maps[as] = next[as];
  }

  private lookup(as: BannedAs, who: string, now: number): BannedEntry | undefined {
    const e = this.maps[as].get(who);
    if (!e) return undefined;
    if (e.until <= now) {
      this.maps[as].delete(who);
      return undefined;
    }
    return { ...e };
  }
}

/**
 * Reads a JSON array of partial entries ({"as", "who"} required; reason, by, at, until
 * optional) and fills EMQX's defaults. Throws an Error naming the file and entry.
 */
export function loadBannedFile(path: string, now: () => number = Date.now): BannedEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`banned file ${path}: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new Error(`banned file ${path}: expected a JSON array of {"as", "who", ...}`);
  const nowMs = now();
  return data.map((e: unknown, i) => {
    try {
      return normalize(e, nowMs);
    } catch (err) {
      throw new Error(`banned file ${path}: entry ${i}: ${(err as Error).message}`);
    }
  });
}
