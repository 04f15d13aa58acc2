/**
 * A real gateway over fake nodes: an in-process hub and memory store where each fake node
 * answers RPCs with a handler of the test's, registered with a heartbeat of the test's
 * choosing (a stale one: dead, not purged yet). For gateway tests that need no broker.
 */
import { InProcessHub, InProcessRpcTransport } from '../../shared/cluster/in-process-rpc.js';
import { MemoryStore } from '../../shared/cluster/memory-store.js';
import type { RequestHandler } from '../../shared/cluster/rpc-transport.js';
import { createLogger } from '../../shared/logger.js';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../gateway/server.js';

export interface FakeNode {
  name: string;
  /** unset: registered but never served (no responders) */
  handler?: RequestHandler;
  /** ms from now (negative: stale); default a minute ahead */
  heartbeatIn?: number;
}

export interface FakeCluster {
  hub: InProcessHub;
  store: MemoryStore;
  /** each served node's transport, by name */
  transports: Map<string, InProcessRpcTransport>;
  gw: RunningGateway;
  base: string;
  /** serves `name` (again) with `handler` */
  serve(name: string, handler: RequestHandler): Promise<void>;
  /** another gateway over the same hub and store, closed by close() */
  gateway(opts: Partial<GatewayOptions>): Promise<RunningGateway>;
  close(): Promise<void>;
}

export async function startFakeCluster(nodes: FakeNode[], opts: Partial<GatewayOptions> = {}): Promise<FakeCluster> {
  const log = createLogger('silent');
  const store = new MemoryStore({ log });
  await store.start();
  const hub = new InProcessHub();
  const transports = new Map<string, InProcessRpcTransport>();
  const gateways: RunningGateway[] = [];
  const serve = async (name: string, handler: RequestHandler): Promise<void> => {
    const t = new InProcessRpcTransport(hub);
    await t.serve(name, handler);
    transports.set(name, t);
  };
  const now = Date.now();
  for (const n of nodes) {
    if (n.handler) await serve(n.name, n.handler);
    await store.heartbeat({ name: n.name, heartbeatAt: now + (n.heartbeatIn ?? 60_000), startedAt: now - 120_000 }, 60_000);
  }
  const gateway = async (o: Partial<GatewayOptions>): Promise<RunningGateway> => {
    const gw = await startGateway({ transport: new InProcessRpcTransport(hub), store, log, bind: '127.0.0.1', port: 0, rpcTimeoutMs: 5000, heartbeatTtlMs: 5000, ...o });
    gateways.push(gw);
    return gw;
  };
  const gw = await gateway(opts);
  return {
    hub,
    store,
    transports,
    gw,
    base: `http://127.0.0.1:${gw.port}`,
    serve,
    gateway,
    close: async () => {
      await Promise.all(gateways.map((g) => g.close()));
      await Promise.all([...transports.values()].map((t) => t.close()));
      await store.close();
    },
  };
}
