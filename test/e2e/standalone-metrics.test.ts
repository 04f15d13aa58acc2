// A standalone node (`npm start`: no NATS, no Redis) serves GET /metrics on its API port,
// as a gateway does: its own metrics under its name, and the process it shares with them.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startNode, type NodeProcess } from '../support/broker.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';
import { scrapeMetrics } from '../support/prometheus-text.js';
import { eventually } from '../support/wait.js';

let node: NodeProcess | undefined;

before(async () => {
  node = await startNode({ env: { STARLING_NODE_NAME: 'solo@127.0.0.1', STARLING_METRICS_CACHE_MS: '0' } });
});

after(async () => {
  await closeAllClients();
  await node?.stop();
});

it('GET /metrics answers with the node up, its counters and stats, and the process metrics', async (t) => {
  const base = `http://127.0.0.1:${node!.listeners['http:management']}`;
  const client = await connectClient(tcpUrl(node!.mqttPort), { clientId: uid('c') }, t);
  await client.publish('standalone/metrics', 'x', { qos: 1 });
  const { samples } = await eventually(async () => {
    const s = await scrapeMetrics(base);
    assert.equal(s.samples.get('starling_connections_count{node="solo@127.0.0.1"}'), 1);
    return s;
  });
  assert.equal(samples.get('starling_node_up{node="solo@127.0.0.1"}'), 1);
  assert.equal(samples.get('starling_messages_qos1_received_total{node="solo@127.0.0.1"}'), 1);
  assert.equal(samples.get('starling_cluster_connections_count'), 1);
  assert.ok((samples.get('process_resident_memory_bytes') ?? 0) > 0);
});
