/**
 * The API as operators reach it in production: two gateways behind a real HAProxy
 * (deploy/haproxy.cfg, its addresses from the environment), so that killing one gateway
 * leaves the other answering through the same address.
 */
import { join } from 'node:path';
import { REPO_ROOT } from './broker.js';
import type { TestCluster } from './cluster.js';
import { startGateway, type GatewayProcess } from './gateway.js';
import { freePort } from './ports.js';
import { spawnProcess, type ManagedProcess } from './processes.js';
import { findBinary } from './services.js';
import { eventually } from './wait.js';

/** Where the soak's API clients go, and what serves it. */
export interface ApiFrontend {
  /** http://127.0.0.1:<port> the pollers use */
  readonly url: string;
  /** the gateways behind it, current processes (a restarted one replaces its slot) */
  readonly gateways: GatewayProcess[];
  /** the load balancer, when there is one, and its stats page (CSV at /;csv) */
  readonly haproxy?: ManagedProcess;
  readonly statsUrl?: string;
  /** kill -9 gateway `i`, wait `downtimeMs`, start it again on the same port */
  restartGateway?(i: number, downtimeMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** One gateway, its URL used directly (the soak without faults). */
export async function singleGateway(c: TestCluster, env: Record<string, string>): Promise<ApiFrontend> {
  const gw = await startGateway(c, env);
  return { url: gw.url, gateways: [gw], stop: () => gw.stop() };
}

/** HAProxy's health-check interval: a dead gateway leaves its pool after two failed checks. */
const CHECK_INTER = '500ms';

/**
 * HAProxy on free ports, ready once it answers /status through a gateway it counts UP. Another
 * process may take a free port before HAProxy binds it: then it exits, and is started again on
 * other ports.
 */
async function startHaproxy(base: Record<string, string>): Promise<{ proc: ManagedProcess; api: number; stats: number }> {
  for (let attempt = 1; ; attempt++) {
    const [api, stats, mqtt] = [await freePort(), await freePort(), await freePort()];
    const env = { ...base, HAPROXY_MQTT_PORT: String(mqtt), HAPROXY_API_PORT: String(api), HAPROXY_STATS_PORT: String(stats) };
    const proc = await spawnProcess({ name: 'haproxy', cmd: findBinary('haproxy'), args: ['-db', '-f', join(REPO_ROOT, 'deploy/haproxy.cfg')], env });
    try {
      await eventually(async () => {
        if (!proc.alive) throw new Error(`haproxy exited: ${proc.tail(5)}`);
        const res = await fetch(`http://127.0.0.1:${api}/status`, { signal: AbortSignal.timeout(2000) });
        if (res.status !== 200) throw new Error(`HAProxy /status: ${res.status}`);
      }, 15_000, 200);
      return { proc, api, stats };
    } catch (err) {
      await proc.kill('SIGKILL');
      if (attempt >= 3 || proc.alive) throw err;
    }
  }
}

/** Two gateways on fixed free ports behind HAProxy's `api` frontend. */
export async function haproxyGateways(c: TestCluster, env: Record<string, string>): Promise<ApiFrontend> {
  const gatewayPorts = [await freePort(), await freePort()];
  const gateways: GatewayProcess[] = [];
  let haproxy: ManagedProcess | undefined;
  const stop = async () => {
    await haproxy?.kill('SIGTERM', 2000);
    await Promise.allSettled(gateways.map((g) => g.stop()));
  };
  try {
    for (const p of gatewayPorts) gateways.push(await startGateway(c, { ...env, STARLING_API_PORT: String(p) }));
    const nodes = [...c.nodes.values()];
    const base: Record<string, string> = {
      HAPROXY_BIND: '127.0.0.1',
      HAPROXY_CHECK_INTER: CHECK_INTER,
      GATEWAY1_ADDR: `127.0.0.1:${gatewayPorts[0]}`,
      GATEWAY2_ADDR: `127.0.0.1:${gatewayPorts[1]}`,
    };
    // deploy/haproxy.cfg names three nodes: with fewer, the first stands in for the others
    for (let i = 0; i < 3; i++) base[`NODE${i + 1}_ADDR`] = `127.0.0.1:${(nodes[i] ?? nodes[0]!).mqttPort}`;
    const started = await startHaproxy(base);
    haproxy = started.proc;
    const { api, stats } = started;
    const url = `http://127.0.0.1:${api}`;
    return {
      url,
      gateways,
      haproxy,
      statsUrl: `http://127.0.0.1:${stats}`,
      async restartGateway(i, downtimeMs) {
        await gateways[i]!.proc.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, downtimeMs));
        // a loaded host may take longer than startGateway's 10 s to start it: try again
        for (let attempt = 1; ; attempt++) {
          try {
            gateways[i] = await startGateway(c, { ...env, STARLING_API_PORT: String(gatewayPorts[i]) });
            return;
          } catch (err) {
            if (attempt >= 3) throw err;
          }
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
