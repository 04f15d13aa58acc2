/** What a cluster's Redis holds: memory in use, and the route sets' size and count. */
import { Redis } from 'ioredis';

export interface RouteStoreUsage {
  /** INFO memory used_memory, bytes */
  usedMemory: number;
  /** route set members over every node's `routes:<node>` set */
  routes: number;
  /** MEMORY USAGE of those sets, bytes */
  routeBytes: number;
  /** members per route set key */
  perKey: Record<string, number>;
}

/** One short-lived connection per reading: the scenario does not keep a client of its own. */
export async function routeStoreUsage(redisUrl: string): Promise<RouteStoreUsage> {
  const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    const info = await r.info('memory');
    const usedMemory = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN);
    let routes = 0;
    let routeBytes = 0;
    const perKey: Record<string, number> = {};
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', '*routes:*', 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        if ((await r.type(key)) !== 'set') continue;
        perKey[key] = await r.scard(key);
        routes += perKey[key];
        // SAMPLES 0: every member counted, not an estimate from a few
        routeBytes += Number(await r.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
      }
    } while (cursor !== '0');
    return { usedMemory, routes, routeBytes, perKey };
  } finally {
    r.disconnect();
  }
}
