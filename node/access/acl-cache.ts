import type { AclAccess, AclResult } from './acl.js';

export interface AclCacheEntry {
  access: AclAccess;
  topic: string;
  result: AclResult;
  /** Epoch milliseconds of the put, as EMQX's /clients/{clientid}/acl_cache reports it. */
  updated_time: number;
}

/*
 * Memory: one instance per connected client, so the state is a single Map created on the
 * first put. Keys are "p"/"s" + topic; each value packs time and result into one number
 * (time * 2 + 1 for allow), avoiding an object per entry. Map order is put order, so the
 * first key is always the oldest: eviction and expiry both work from the front.
 */
export class AclCache {
  private map: Map<string, number> | undefined;
  // The last key made, for the topic it was made of: a publisher mostly repeats its topic
  // (and the codec hands back the same string, see codec.ts), so the check of a cached
  // PUBLISH makes no new string and V8 reuses the key's hash rather than hashing a fresh one.
  private lastTopic: string | undefined;
  private lastAccess: AclAccess | undefined;
  private lastKey = '';

  constructor(
    readonly maxSize: number,
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.map?.size ?? 0;
  }

  get(access: AclAccess, topic: string): AclResult | undefined {
    const map = this.map;
    if (map === undefined) return undefined;
    const v = map.get(this.key(access, topic));
    if (v === undefined) return undefined;
    if (this.expired(v, this.now())) {
      // Like EMQX, one expired hit refreshes the whole cache; all older entries are expired too.
      this.dropExpired();
      return undefined;
    }
    return resultOf(v);
  }

  put(access: AclAccess, topic: string, result: AclResult): void {
    if (this.maxSize <= 0) return;
    const now = this.now();
    const map = (this.map ??= new Map());
    const k = this.key(access, topic);
    // Delete first so a re-put moves the key to the newest end.
    if (!map.delete(k) && map.size >= this.maxSize) {
      this.dropExpired();
      while (map.size >= this.maxSize) map.delete(map.keys().next().value!);
    }
    map.set(k, now * 2 + (result === 'allow' ? 1 : 0));
  }

  /** Live entries, oldest first; expired ones are dropped rather than listed. */
  entries(): AclCacheEntry[] {
    this.dropExpired();
    const out: AclCacheEntry[] = [];
    if (!this.map) return out;
    for (const [k, v] of this.map) {
      out.push({
        access: k.charCodeAt(0) === 112 /* p */ ? 'publish' : 'subscribe',
        topic: k.slice(1),
        result: resultOf(v),
        updated_time: timeOf(v),
      });
    }
    return out;
  }

  /** Forgets the results for `topic`, publish and subscribe (EMQX 3's clean_acl_cache of one topic). */
  forget(topic: string): void {
    this.map?.delete(key('publish', topic));
    this.map?.delete(key('subscribe', topic));
  }

  clear(): void {
    this.map = undefined; // release the Map itself, not just its contents
  }

  private key(access: AclAccess, topic: string): string {
    if (topic !== this.lastTopic || access !== this.lastAccess) {
      this.lastTopic = topic;
      this.lastAccess = access;
      this.lastKey = key(access, topic);
    }
    return this.lastKey;
  }

  private expired(v: number, now: number): boolean {
    return timeOf(v) + this.ttlMs <= now;
  }

  private dropExpired(): void {
    const map = this.map;
    if (!map) return;
    const now = this.now();
    for (const [k, v] of map) {
      if (!this.expired(v, now)) break;
      map.delete(k);
    }
  }
}

function key(access: AclAccess, topic: string): string {
  return (access === 'publish' ? 'p' : 's') + topic;
}

function timeOf(v: number): number {
  return Math.floor(v / 2);
}

function resultOf(v: number): AclResult {
  // the low bit of a non-negative integer below 2^53 survives ToInt32; `% 2` on a double is slower
  return (v & 1) === 1 ? 'allow' : 'deny';
}
