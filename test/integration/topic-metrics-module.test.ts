// The topic metrics API while the module is unloaded (EMQX's default: module_not_loaded on
// every endpoint) and once loaded through the modules API, on a standalone node wired as
// `npm start` wires it: the broker, its cluster layer over the in-process transport and
// memory store, and a gateway.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startGateway, type RunningGateway } from '../../gateway/server.js';
import type { Broker } from '../../node/broker.js';
import { Cluster } from '../../node/cluster/cluster.js';
import { InProcessTransport } from '../../node/cluster/forwarding/in-process.js';
import { composeBroker } from '../../node/core/compose.js';
import { InProcessHub } from '../../shared/cluster/in-process-rpc.js';
import { MemoryStore } from '../../shared/cluster/memory-store.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';
import { api, fails, ok } from '../support/gateway.js';

let broker: Broker | undefined;
let cluster: Cluster | undefined;
let gw: RunningGateway | undefined;

before(async () => {
  const log = createLogger('silent');
  const cfg = loadConfig({ STARLING_NODE_NAME: 'tm@127.0.0.1', STARLING_MQTT_PORT: '-1', STARLING_WS_PORT: '-1', STARLING_SYS_INTERVAL_MS: '0', STARLING_SYS_HEARTBEAT_MS: '0' }, []);
  const transport = new InProcessTransport({ log, hub: new InProcessHub() });
  const store = new MemoryStore({ log });
  broker = composeBroker(cfg, log);
  cluster = new Cluster(broker, transport, store, cfg, log);
  broker.cluster = cluster;
  await cluster.start();
  await broker.start();
  gw = await startGateway({ transport, store, log, bind: '127.0.0.1', port: 0, rpcTimeoutMs: 1000, heartbeatTtlMs: cfg.heartbeatTtlMs });
});

after(async () => {
  await gw?.close();
  await broker?.stop();
  await cluster?.stop();
});

const call = (method: string, path: string, body?: unknown) => api(`http://127.0.0.1:${gw!.port}`, method, `/api/v4${path}`, { body });

const ENDPOINTS = [
  ['GET', '/topic-metrics'],
  ['GET', '/topic-metrics/m%2Fa'],
  ['POST', '/topic-metrics', { topic: 'm/b' }],
  ['DELETE', '/topic-metrics/m%2Fa'],
  ['DELETE', '/topic-metrics'],
] as const;

async function allNotLoaded(): Promise<void> {
  for (const [method, path, body] of ENDPOINTS) {
    const r = await call(method, path, body);
    fails(r, 200, 102);
    assert.equal(r.body.message, 'module_not_loaded', `${method} ${path}`);
  }
}

it('unloaded by default, as EMQX ships emqx_mod_topic_metrics: every endpoint answers 102 module_not_loaded', async () => {
  assert.equal(broker!.topicMetrics.active, false);
  await allNotLoaded();
});

it('loaded and unloaded through the modules API: the endpoints follow, the registrations are kept', async () => {
  ok(await call('PUT', '/modules/emqx_mod_topic_metrics/load'), ['code']);
  assert.equal(broker!.topicMetrics.active, true);
  ok(await call('POST', '/topic-metrics', { topic: 'm/a' }), ['code']);
  ok(await call('PUT', '/modules/emqx_mod_topic_metrics/unload'), ['code']);
  assert.equal(broker!.topicMetrics.active, false);
  await allNotLoaded();
  ok(await call('PUT', '/modules/emqx_mod_topic_metrics/load'), ['code']);
  const list = await call('GET', '/topic-metrics');
  ok(list);
  assert.deepEqual(list.body.data.map((r: { topic: string }) => r.topic), ['m/a']);
  assert.equal(list.body.data[0].metrics['messages.in.count'], 0);
  ok(await call('DELETE', '/topic-metrics'), ['code']);
});
