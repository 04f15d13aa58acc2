/**
 * A test file's 3-node cluster and gateway process, started in its `before` hook and stopped
 * (with every MQTT client the file left open) in its `after` hook.
 */
import { after, before } from 'node:test';
import { startCluster, type TestCluster } from './cluster.js';
import { startGateway, type GatewayProcess } from './gateway.js';
import { closeAllClients } from './mqtt-clients.js';

export interface ClusterEnv {
  /** for every node */
  env?: Record<string, string>;
  /** added for one node, by short name */
  perNode?: Record<string, Record<string, string>>;
}

export interface GatewayCluster {
  /** set once the `before` hook has run */
  readonly c: TestCluster;
  /** the gateway's http://127.0.0.1:<port> */
  readonly base: string;
  /** the gateway's process (its output lines, whether it is alive) */
  readonly gateway: GatewayProcess;
}

/**
 * `setup` runs first in the `before` hook and gives the nodes' environment (it may start what
 * they point at, e.g. a local server). A file's own `before` hooks at the top level run at
 * once, concurrently with this one: what needs the cluster goes in a describe's `before`.
 */
export function useGatewayCluster(setup: () => ClusterEnv | Promise<ClusterEnv> = () => ({}), shorts = ['n1', 'n2', 'n3']): GatewayCluster {
  let c: TestCluster | undefined;
  let gw: GatewayProcess | undefined;
  before(async () => {
    const { env, perNode } = await setup();
    c = await startCluster(shorts, env, perNode);
    gw = await startGateway(c);
  });
  after(async () => {
    await closeAllClients();
    await gw?.stop();
    await c?.stop();
  });
  return {
    get c() {
      if (!c) throw new Error('the cluster is not started (useGatewayCluster: before has not run)');
      return c;
    },
    get base() {
      return this.gateway.url;
    },
    get gateway() {
      if (!gw) throw new Error('the gateway is not started (useGatewayCluster: before has not run)');
      return gw;
    },
  };
}
