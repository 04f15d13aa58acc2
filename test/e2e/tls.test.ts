/**
 * MQTT over TLS (mqtt:ssl): with a certificate and key configured the node opens the TLS
 * listener, and a client verifying the certificate does a QoS 1 round trip over it.
 * The certificate in test/fixtures is self-signed for 127.0.0.1, for tests only.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { startNode, type NodeProcess } from '../support/broker.js';
import { uid } from '../support/mqtt-clients.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));
let node: NodeProcess;

before(async () => {
  node = await startNode({
    name: 'tls',
    env: { STARLING_TLS_CERT: fixture('tls-cert.pem'), STARLING_TLS_KEY: fixture('tls-key.pem'), STARLING_MQTTS_PORT: '0' },
  });
});

after(async () => {
  await node?.stop();
});

test('the TLS listener carries a QoS 1 round trip for a client that verifies the certificate', async () => {
  assert.ok(node.mqttsPort, 'the node reports its mqtt:ssl port');
  const ca = readFileSync(fixture('tls-cert.pem'));
  const topic = `tls/${uid()}`;
  const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${node.mqttsPort}`, { ca, clientId: uid('tls'), reconnectPeriod: 0 });
  try {
    const got = new Promise<string>((resolve) => client.on('message', (_t, p) => resolve(p.toString())));
    await client.subscribeAsync(topic, { qos: 1 });
    await client.publishAsync(topic, 'over tls', { qos: 1 });
    assert.equal(await got, 'over tls');
  } finally {
    await client.endAsync();
  }
});

test('a client that does not trust the certificate is refused by TLS, and the node goes on serving', async () => {
  const refused = mqtt.connectAsync(`mqtts://127.0.0.1:${node.mqttsPort}`, { clientId: uid('tls'), reconnectPeriod: 0, connectTimeout: 2000 });
  await assert.rejects(refused, /self.signed|certificate/i);
  const ok = await mqtt.connectAsync(`mqtt://127.0.0.1:${node.mqttPort}`, { clientId: uid('plain'), reconnectPeriod: 0 });
  await ok.endAsync();
});
