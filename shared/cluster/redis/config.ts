/**
 * The cluster configuration on Redis, one hash per kind (shared/cluster/config-kinds.ts;
 * P = prefix, default 'starling'):
 *
 *   P:apps             hash     appid → JSON AppRecord (management API applications).
 *   P:banned           hash     `<as>:<who>` → JSON BannedEntry (`as` holds no colon).
 *   P:config:<kind>    hash     the kind's record key → JSON record, for every later kind
 *                               (apps and banned keep the keys they had before, so nothing
 *                               migrates).
 *   P:config           channel  the kind that changed, once per write that changed
 *                               something; receivers read it back (configList). A create of
 *                               an existing key, an update or delete of an absent one, a purge
 *                               removing nothing: not announced.
 *
 * A record is read from its JSON, never from the field, and kept only if the field is its
 * key. Every write is one Lua script doing the change and its PUBLISH, so announcements come
 * in the order the changes were applied; it gives configPut's create-if-absent (HSETNX)
 * and update-if-present, and the purge of expired records (reading every record's expiry
 * field in the script: the tables are small).
 */
import { configCopy, configExpiry, configKind, isConfigKind, type ConfigKind, type ConfigRecord } from '../config-kinds.js';
import type { ConfigPutMode, ConfigTable } from '../store.js';
import type { RedisConnection } from './connection.js';

/** The kinds stored before the generic `P:config:<kind>` scheme, under `P:<kind>`. */
const OWN_KEY: ReadonlySet<string> = new Set<ConfigKind>(['apps', 'banned']);

// KEYS[1] config hash; ARGV: field, json, mode, channel, kind → 1 if stored. mode: 'create'
// (only if absent), 'update' (only if present) or 'upsert'.
const PUT_CONFIG = `
if ARGV[3] == 'create' then
  if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
else
  if ARGV[3] == 'update' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`;
// KEYS[1] config hash; ARGV: field, channel, kind → 1 if deleted
const DELETE_CONFIG = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;
// KEYS[1] config hash; ARGV: now (epoch seconds), channel, kind, expiry field → how many
// were removed. A malformed record is left alone (configList skips it with a warning).
const PURGE_EXPIRED_CONFIG = `
local now = tonumber(ARGV[1])
local flat = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #flat, 2 do
  local ok, e = pcall(cjson.decode, flat[i + 1])
  if ok and type(e) == 'table' and type(e[ARGV[4]]) == 'number' and e[ARGV[4]] <= now then
    n = n + redis.call('HDEL', KEYS[1], flat[i])
  end
end
if n > 0 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return n`;

/** The scripts above, as RedisConnection.script() adds them. */
interface Scripts {
  starlingPutConfig(key: string, field: string, json: string, mode: ConfigPutMode, channel: string, kind: ConfigKind): Promise<number>;
  starlingDeleteConfig(key: string, field: string, channel: string, kind: ConfigKind): Promise<number>;
  starlingPurgeExpiredConfig(key: string, nowSec: string, channel: string, kind: ConfigKind, field: string): Promise<number>;
}

export class RedisConfig implements ConfigTable {
  private readonly scripts: Scripts;
  private readonly channel: string;
  private readonly cbs: ((kind: ConfigKind) => void)[] = [];

  constructor(private readonly conn: RedisConnection) {
    this.channel = `${conn.ns}config`;
    conn.script('starlingPutConfig', PUT_CONFIG);
    conn.script('starlingDeleteConfig', DELETE_CONFIG);
    conn.script('starlingPurgeExpiredConfig', PURGE_EXPIRED_CONFIG);
    this.scripts = conn.cmd as unknown as Scripts;
    conn.listen(this.channel, (message) => this.onMessage(message));
  }

  configList<K extends ConfigKind>(kind: K): Promise<ConfigRecord<K>[]> {
    const spec = configKind(kind);
    return this.conn.call(`configList(${kind})`, async () => {
      const out: ConfigRecord<K>[] = [];
      for (const [key, json] of Object.entries(await this.conn.cmd.hgetall(this.keyOf(kind)))) {
        const record = spec.from(parseJson(json));
        if (record && spec.key(record) === key) out.push(record);
        else this.conn.log?.warn({ kind, key }, 'ignoring a malformed config record');
      }
      return out.sort(spec.compare);
    });
  }

  configPut<K extends ConfigKind>(kind: K, record: ConfigRecord<K>, mode: ConfigPutMode): Promise<boolean> {
    return this.conn.call(`configPut(${kind})`, async () => {
      const copy = configCopy(kind, record);
      const key = configKind(kind).key(copy);
      return (await this.scripts.starlingPutConfig(this.keyOf(kind), key, JSON.stringify(copy), mode, this.channel, kind)) === 1;
    });
  }

  configDelete(kind: ConfigKind, key: string): Promise<boolean> {
    return this.conn.call(`configDelete(${kind})`, async () => {
      return (await this.scripts.starlingDeleteConfig(this.keyOf(kind), key, this.channel, kind)) === 1;
    });
  }

  configPurgeExpired(kind: ConfigKind, nowSec: number): Promise<number> {
    return this.conn.call(`configPurgeExpired(${kind})`, async () => {
      const field = configExpiry(kind, nowSec);
      return Number(await this.scripts.starlingPurgeExpiredConfig(this.keyOf(kind), String(nowSec), this.channel, kind, field));
    });
  }

  onConfigChange(cb: (kind: ConfigKind) => void): void {
    this.cbs.push(cb);
  }

  private keyOf(kind: ConfigKind): string {
    return OWN_KEY.has(kind) ? this.conn.ns + kind : `${this.conn.ns}config:${kind}`;
  }

  private onMessage(message: Buffer): void {
    const kind = message.toString();
    if (!isConfigKind(kind)) return void this.conn.log?.warn({ message: kind }, 'ignoring a malformed config change');
    for (const cb of this.cbs) this.conn.safely('onConfigChange', () => cb(kind));
  }
}

function parseJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}
