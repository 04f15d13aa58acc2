import type { Broker } from '../../node/broker.js';
import { Cluster } from '../../node/cluster/cluster.js';
import { InProcessTransport } from '../../node/cluster/forwarding/in-process.js';
import { composeBroker } from '../../node/core/compose.js';
import { startGateway } from '../../gateway/server.js';
import { MemoryStore } from '../../shared/cluster/memory-store.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';

export interface Standalone {
  broker: Broker;
  mqttPort: number;
  apiPort: number;
  /** GET on the node's API (admin:public), parsed JSON */
  api(path: string): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/**
 * A standalone node in this test process, put together as node/main.ts does (broker, cluster
 * layer over the in-process transport and memory store, the API), for tests that switch the
 * node's features programmatically and watch them with real MQTT clients and HTTP requests.
 * Only `env` and test defaults apply: nothing from the developer's shell leaks in.
 */
export async function startStandalone(env: Record<string, string> = {}): Promise<Standalone> {
  const cfg = loadConfig(
    {
      STARLING_NODE_NAME: 'standalone@127.0.0.1',
      STARLING_BIND: '127.0.0.1',
      STARLING_MQTT_PORT: '0',
      STARLING_WS_PORT: '-1',
      STARLING_API_PORT: '0',
      STARLING_SYS_INTERVAL_MS: '0',
      STARLING_SYS_HEARTBEAT_MS: '0',
      ...env,
    },
    [],
  );
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const transport = new InProcessTransport({ log });
  const store = new MemoryStore({ log });
  const broker = composeBroker(cfg, log);
  const cluster = new Cluster(broker, transport, store, cfg, log);
  broker.cluster = cluster;
  await cluster.start();
  const ports = await broker.start();
  const gateway = await startGateway({ transport, store, log, bind: cfg.bind, port: 0, rpcTimeoutMs: cfg.rpcTimeoutMs, heartbeatTtlMs: cfg.heartbeatTtlMs });
  const auth = `Basic ${Buffer.from('admin:public').toString('base64')}`;
  return {
    broker,
    mqttPort: ports['mqtt:tcp']!,
    apiPort: gateway.port,
    async api(path) {
      const res = await fetch(`http://127.0.0.1:${gateway.port}${path}`, { headers: { authorization: auth } });
      return { status: res.status, body: await res.json() };
    },
    async stop() {
      await gateway.close();
      await broker.stop();
      await cluster.stop();
    },
  };
}
