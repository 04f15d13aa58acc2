/**
 * Cluster membership on Redis (P = prefix, default 'starling'):
 *
 *   P:nodes            hash     node name → JSON NodeRecord. heartbeat() = HSET; liveness is
 *                               judged by callers from heartbeatAt against their ttl, so no
 *                               expiring "alive" key is kept. deregister()/purgeNode() = HDEL.
 *   P:purge:<dead>     string   the node that claimed the purge; SET NX PX ttl.
 *
 * purgeNode also clears the dead node's routes and registrations, through those tables,
 * each step guarded (purge-guard.ts) when the caller names the record it judged dead.
 */
import type { MembershipTable, NodeRecord } from '../store.js';
import type { RedisConnection } from './connection.js';
import { STILL_DEAD } from './purge-guard.js';
import type { RedisRegistry } from './registry.js';
import type { RedisRoutes } from './routes.js';

// KEYS[1] node records; ARGV: node, the heartbeatAt judged dead ('' for none) → 1 if removed
const DROP_RECORD = `${STILL_DEAD}
if not still_dead(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1`;

/** The script above, as RedisConnection.script() adds it. */
interface Scripts {
  starlingDropRecord(nodes: string, node: string, deadAt: string): Promise<number>;
}

export class RedisMembership implements MembershipTable {
  private readonly key: string;
  private readonly purgePrefix: string;
  private readonly scripts: Scripts;

  constructor(
    private readonly conn: RedisConnection,
    private readonly routes: RedisRoutes,
    private readonly registry: RedisRegistry,
  ) {
    this.key = `${conn.ns}nodes`;
    this.purgePrefix = `${conn.ns}purge:`;
    conn.script('starlingDropRecord', DROP_RECORD);
    this.scripts = conn.cmd as unknown as Scripts;
  }

  heartbeat(node: NodeRecord, _ttlMs: number): Promise<boolean> {
    const record: NodeRecord = { name: node.name, heartbeatAt: node.heartbeatAt, startedAt: node.startedAt };
    return this.conn.call('heartbeat', async () => {
      // HSET answers how many fields were new: 1 when the record was missing (purged)
      return (await this.conn.cmd.hset(this.key, node.name, JSON.stringify(record))) === 1;
    });
  }

  deregister(node: string): Promise<void> {
    return this.conn.call('deregister', async () => {
      await this.conn.cmd.hdel(this.key, node);
    });
  }

  nodes(): Promise<NodeRecord[]> {
    return this.conn.call('nodes', async () => {
      const all = await this.conn.cmd.hgetall(this.key);
      const out: NodeRecord[] = [];
      for (const [name, json] of Object.entries(all)) {
        const r = parseNodeRecord(json);
        if (r) out.push(r);
        else this.conn.log?.warn({ node: name }, 'ignoring a malformed node record');
      }
      return out;
    });
  }

  claimPurge(dead: string, by: string, ttlMs: number): Promise<boolean> {
    return this.conn.call('claimPurge', async () => {
      const ok = await this.conn.cmd.set(this.purgePrefix + dead, by, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
      return ok === 'OK';
    });
  }

  purgeNode(dead: string, seen?: NodeRecord): Promise<boolean> {
    const deadAt = seen ? String(seen.heartbeatAt) : '';
    return this.conn.call('purgeNode', async () => {
      if (!(await this.routes.replace(dead, [], deadAt))) return false;
      if (!(await this.registry.unregisterNode(dead, deadAt))) return false;
      // The record last: a purge cut short leaves the node listed, so it can be retried.
      return (await this.scripts.starlingDropRecord(this.key, dead, deadAt)) === 1;
    });
  }
}

function parseNodeRecord(json: string): NodeRecord | undefined {
  try {
    const v = JSON.parse(json) as Partial<NodeRecord>;
    if (typeof v.name === 'string' && typeof v.heartbeatAt === 'number' && typeof v.startedAt === 'number') {
      return { name: v.name, heartbeatAt: v.heartbeatAt, startedAt: v.startedAt };
    }
  } catch {
    /* malformed */
  }
  return undefined;
}
