// A CONNECT whose clientid registration fails while the store stays connected (a command
// timing out on a busy Redis: no reconnect, so no resync, follows). The node registers the
// client again a heartbeat later: the registry points to it, a CONNECT elsewhere takes it
// over, and a session of the clientid already live on another node is settled as after an
// outage (the newer connection stays). Two nodes in this process, wired as node/main.ts
// wires one, over one in-process hub and one shared memory store, so that exactly one
// registration can be made to fail.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../../node/broker.js';
import { Cluster } from '../../node/cluster/cluster.js';
import { InProcessTransport } from '../../node/cluster/forwarding/in-process.js';
import { composeBroker } from '../../node/core/compose.js';
import { InProcessHub } from '../../shared/cluster/in-process-rpc.js';
import { MemoryStore, MemoryStoreState } from '../../shared/cluster/memory-store.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';
import { HEARTBEAT_MS, HEARTBEAT_TTL_MS } from '../support/cluster.js';
import { closeAllClients, connectClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';
import { eventually } from '../support/wait.js';

/** A memory store whose next registrations fail as a timed-out Redis command does, the connection staying up. */
class FlakyStore extends MemoryStore {
  failing = 0;
  override registerClient(clientid: string, node: string): Promise<string | undefined> {
    if (this.failing > 0) {
      this.failing--;
      return Promise.reject(new Error('Command timed out'));
    }
    return super.registerClient(clientid, node);
  }
}

interface TestNode {
  name: string;
  broker: Broker;
  cluster: Cluster;
  store: FlakyStore;
  url: string;
}

describe('a CONNECT whose registration failed', () => {
  const state = new MemoryStoreState();
  const hub = new InProcessHub();
  const nodes: TestNode[] = [];
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

  async function startNode(name: string): Promise<TestNode> {
    const cfg = loadConfig(
      {
        STARLING_NODE_NAME: name,
        STARLING_BIND: '127.0.0.1',
        STARLING_MQTT_PORT: '0',
        STARLING_WS_PORT: '-1',
        STARLING_SYS_INTERVAL_MS: '0',
        STARLING_SYS_HEARTBEAT_MS: '0',
        STARLING_HEARTBEAT_MS: String(HEARTBEAT_MS),
        STARLING_HEARTBEAT_TTL_MS: String(HEARTBEAT_TTL_MS),
      },
      [],
    );
    const store = new FlakyStore({ state, log });
    const broker = composeBroker(cfg, log);
    const cluster = new Cluster(broker, new InProcessTransport({ log, hub }), store, cfg, log);
    broker.cluster = cluster;
    const n: TestNode = { name, broker, cluster, store, url: '' };
    nodes.push(n);
    await cluster.start();
    n.url = tcpUrl((await broker.start())['mqtt:tcp']!);
    return n;
  }

  let a: TestNode;
  let b: TestNode;
  before(async () => {
    a = await startNode('a@127.0.0.1');
    b = await startNode('b@127.0.0.1');
    // each node sees the other live before a CONNECT relies on it
    await eventually(() => assert.ok(a.cluster.isLive(b.name) && b.cluster.isLive(a.name)));
  });

  after(async () => {
    await closeAllClients();
    for (const n of nodes.reverse()) {
      await n.broker.stop();
      await n.cluster.stop();
    }
  });

  const registeredOn = (clientid: string) => a.store.lookupClient(clientid);

  it('is registered a heartbeat later, and a CONNECT on another node takes it over', async () => {
    const clientId = uid('retry');
    a.store.failing = 1;
    const first = await connectClient(a.url, { clientId });
    assert.equal(a.store.failing, 0, 'the registration was attempted and failed');
    await eventually(async () => assert.equal(await registeredOn(clientId), a.name));
    const second = await connectClient(b.url, { clientId });
    await first.waitClose();
    assert.equal(second.closed, false);
    assert.equal(a.broker.sessions.has(clientId), false);
    await eventually(async () => assert.equal(await registeredOn(clientId), b.name));
  });

  it('live on another node too: the newer connection stays, the older is taken over', async () => {
    const clientId = uid('twice');
    const older: TestClient = await connectClient(b.url, { clientId, protocolVersion: 5 });
    assert.equal(await registeredOn(clientId), b.name);
    a.store.failing = 1;
    // the CONNECT could not see the registration on b: both nodes hold the clientid for now
    const newer = await connectClient(a.url, { clientId, protocolVersion: 5 });
    const gone = await older.waitDisconnect();
    assert.equal(gone.reasonCode, 0x8e, 'Session taken over');
    assert.equal(newer.closed, false);
    assert.equal(b.broker.sessions.has(clientId), false);
    await eventually(async () => assert.equal(await registeredOn(clientId), a.name));
  });

  it('needs no registration once its session ended', async () => {
    const ended = uid('ended');
    const stays = uid('stays');
    a.store.failing = 2;
    const c = await connectClient(a.url, { clientId: ended, clean: true });
    await c.end();
    await eventually(() => assert.equal(a.broker.sessions.has(ended), false));
    await connectClient(a.url, { clientId: stays });
    // by the time the second client is registered, a retry ran for the first too
    await eventually(async () => assert.equal(await registeredOn(stays), a.name));
    assert.equal(await registeredOn(ended), undefined);
  });
});
