/**
 * The client registry on Redis (P = prefix, default 'starling'):
 *
 *   P:clients          hash     clientid → node.
 *
 * Scripts give its compare-and-set operations: registerClient and registerClients (get-and-set),
 * unregisterClient and a purged node's client removal (compare-and-delete, so a client
 * that registered elsewhere meanwhile stays).
 */
import type { RegistryTable } from '../store.js';
import { BATCH, execPipeline, type RedisConnection } from './connection.js';
import { STILL_DEAD } from './purge-guard.js';

// KEYS[1] clients hash; ARGV: clientid, node → the previous node or nil
const REGISTER_CLIENT = `
local prev = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return prev`;
// KEYS[1] clients hash; ARGV: node, clientids... → clientid, previous node, ... for those registered elsewhere
const REGISTER_CLIENTS = `
local out = {}
for i = 2, #ARGV do
  local prev = redis.call('HGET', KEYS[1], ARGV[i])
  if prev and prev ~= ARGV[1] then
    out[#out + 1] = ARGV[i]
    out[#out + 1] = prev
  end
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
end
return out`;
// KEYS[1] clients hash, KEYS[2] node records; ARGV: node, the heartbeatAt a purge judged
// dead ('' for none, see purge-guard.ts), clientids... → how many were removed, -1 when the
// guard stopped it
const UNREGISTER_CLIENTS = `${STILL_DEAD}
if not still_dead(KEYS[2], ARGV[1], ARGV[2]) then return -1 end
local n = 0
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then n = n + redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return n`;

/** The scripts above, as RedisConnection.script() adds them. */
interface Scripts {
  starlingRegisterClient(key: string, clientid: string, node: string): Promise<string | null>;
  starlingUnregisterClients(key: string, nodes: string, node: string, deadAt: string, ...clientids: string[]): Promise<number>;
  starlingRegisterClients(key: string, node: string, ...clientids: string[]): Promise<string[]>;
}

export class RedisRegistry implements RegistryTable {
  private readonly scripts: Scripts;
  private readonly key: string;
  /** membership's node records (membership.ts), read by a purge's guard */
  private readonly nodesKey: string;

  constructor(private readonly conn: RedisConnection) {
    this.key = `${conn.ns}clients`;
    this.nodesKey = `${conn.ns}nodes`;
    conn.script('starlingRegisterClient', REGISTER_CLIENT);
    conn.script('starlingUnregisterClients', UNREGISTER_CLIENTS, 2);
    conn.script('starlingRegisterClients', REGISTER_CLIENTS);
    this.scripts = conn.cmd as unknown as Scripts;
  }

  registerClient(clientid: string, node: string): Promise<string | undefined> {
    return this.conn.call('registerClient', async () => {
      const prev = await this.scripts.starlingRegisterClient(this.key, clientid, node);
      return prev !== null && prev !== node ? prev : undefined;
    });
  }

  unregisterClient(clientid: string, node: string): Promise<void> {
    return this.conn.call('unregisterClient', async () => {
      await this.scripts.starlingUnregisterClients(this.key, this.nodesKey, node, '', clientid);
    });
  }

  lookupClient(clientid: string): Promise<string | undefined> {
    return this.conn.call('lookupClient', async () => (await this.conn.cmd.hget(this.key, clientid)) ?? undefined);
  }

  registerClients(clientids: string[], node: string): Promise<{ clientid: string; prev: string }[]> {
    return this.conn.call('registerClients', async () => {
      const conflicts: { clientid: string; prev: string }[] = [];
      if (clientids.length === 0) return conflicts;
      // a script per batch: each registration reports the node it replaced atomically
      const pipe = this.conn.cmd.pipeline();
      const queued = pipe as unknown as Scripts;
      for (let i = 0; i < clientids.length; i += BATCH) void queued.starlingRegisterClients(this.key, node, ...clientids.slice(i, i + BATCH));
      for (const flat of await execPipeline<string[]>(pipe)) {
        for (let i = 0; i + 1 < flat.length; i += 2) conflicts.push({ clientid: flat[i]!, prev: flat[i + 1]! });
      }
      return conflicts;
    });
  }

  /**
   * Removes every registration still on `node` (for purgeNode, which names the operation,
   * with `deadAt` its guard, see purge-guard.ts); false when the guard stopped it.
   */
  async unregisterNode(node: string, deadAt = ''): Promise<boolean> {
    // HSCAN, then compare-and-delete in a script: a client that registered on another
    // node between the scan and the delete keeps its new registration.
    let cursor = '0';
    do {
      const [next, flat] = await this.conn.cmd.hscan(this.key, cursor, 'COUNT', BATCH);
      cursor = next;
      const ids: string[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i + 1] === node) ids.push(flat[i]!);
      if (ids.length && (await this.scripts.starlingUnregisterClients(this.key, this.nodesKey, node, deadAt, ...ids)) < 0) return false;
    } while (cursor !== '0');
    return true;
  }
}
