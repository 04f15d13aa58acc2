/**
 * The faults a soak can inject, one function each: do the harm, stay down a while, undo it.
 * Each returns when the faulted part is back (its restart or SIGCONT done), with the time it
 * was back.
 */
import type { TestCluster } from '../../support/cluster.js';
import { suspendProcess } from '../../support/processes.js';
import type { ApiFrontend } from '../../support/haproxy-gateways.js';

export const FAULT_KINDS = ['node-kill', 'nats-kill', 'redis-kill', 'node-stop', 'gateway-kill'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultEnv {
  cluster: TestCluster;
  api: ApiFrontend;
  /** how long a killed process stays down */
  downtimeMs: number;
  /** the RPC timeout the gateways and nodes run with: a stopped node stays stopped longer */
  rpcTimeoutMs: number;
}

export interface Injected {
  /** which process, for the report */
  target: string;
  /** when the harm was done, and when the part was back */
  at: number;
  backAt: number;
  /** a killed or stopped node's MQTT port (where its sessions' clients were connected) */
  mqttPort?: number;
  /** a killed node's last metrics before the kill (its restart counts from 0) */
  lostMetrics?: { node: string; metrics: Record<string, number> };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A node's EMQX metrics over RPC, just before it is killed (its counters die with it). */
async function lastMetrics(c: TestCluster, node: string): Promise<Record<string, number> | undefined> {
  const r = await c.transport.request(node, 'metrics.get', {}, 2000).catch(() => undefined);
  return r as Record<string, number> | undefined;
}

/** kill -9 of node `short`, restarted after the downtime on the same ports. */
async function nodeKill(e: FaultEnv, short: string): Promise<Injected> {
  const n = e.cluster.node(short);
  const ports = { STARLING_MQTT_PORT: String(n.mqttPort), STARLING_WS_PORT: String(n.wsPort) };
  const metrics = await lastMetrics(e.cluster, n.nodeName);
  const at = Date.now();
  await n.kill9();
  await pause(e.downtimeMs);
  await e.cluster.startNode(short, ports);
  return { target: n.nodeName, at, backAt: Date.now(), mqttPort: n.mqttPort, ...(metrics ? { lostMetrics: { node: n.nodeName, metrics } } : {}) };
}

/** SIGSTOP of node `short` for the RPC timeout and 2 s more (hung, not dead), then SIGCONT. */
async function nodeStop(e: FaultEnv, short: string): Promise<Injected> {
  const n = e.cluster.node(short);
  const at = Date.now();
  await suspendProcess(n.proc.pid);
  await pause(e.rpcTimeoutMs + 2000);
  process.kill(n.proc.pid, 'SIGCONT');
  return { target: n.nodeName, at, backAt: Date.now(), mqttPort: n.mqttPort };
}

export async function inject(kind: FaultKind, e: FaultEnv): Promise<Injected> {
  switch (kind) {
    case 'node-kill':
      return nodeKill(e, 'n1');
    case 'node-stop':
      return nodeStop(e, 'n2');
    case 'nats-kill': {
      // Service.restart keeps the JetStream store dir (only stop() removes it)
      const at = Date.now();
      await e.cluster.nats.restart({ signal: 'SIGKILL', downtimeMs: e.downtimeMs });
      return { target: `nats-server :${e.cluster.nats.port}`, at, backAt: Date.now() };
    }
    case 'redis-kill': {
      // the harness's Redis runs without persistence: it comes back empty
      const at = Date.now();
      await e.cluster.redis.restart({ signal: 'SIGKILL', downtimeMs: e.downtimeMs });
      return { target: `redis-server :${e.cluster.redis.port} (restarted empty)`, at, backAt: Date.now() };
    }
    case 'gateway-kill': {
      if (!e.api.restartGateway) throw new Error('gateway-kill needs the gateways behind HAProxy');
      const at = Date.now();
      await e.api.restartGateway(0, e.downtimeMs);
      return { target: `gateway 1 of ${e.api.gateways.length} behind HAProxy`, at, backAt: Date.now() };
    }
  }
}

/** `all` or a comma list of kinds; throws on an unknown one. */
export function parseFaultKinds(s: string): FaultKind[] {
  if (s === 'all') return [...FAULT_KINDS];
  const kinds = s.split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of kinds) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fault ${JSON.stringify(k)} (known: ${FAULT_KINDS.join(', ')}, all)`);
  return kinds as FaultKind[];
}
