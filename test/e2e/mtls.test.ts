/**
 * Mutual TLS on the MQTT TLS listener, with a CA, a server certificate and client
 * certificates the test makes (openssl): STARLING_TLS_VERIFY_PEER lets in only clients whose
 * certificate STARLING_TLS_CA signed (and, with STARLING_TLS_FAIL_IF_NO_PEER_CERT, none
 * without one), and STARLING_TLS_PEER_CERT_AS_USERNAME=cn makes the certificate's CN the
 * client's username, the one the API shows and the ACL checks, whatever CONNECT said.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { NODE_MAIN, startNode, type NodeProcess } from '../support/broker.js';
import { certDir, type CertDir, type Pem } from '../support/certs.js';
import { api } from '../support/gateway.js';
import { uid } from '../support/mqtt-clients.js';

let certs: CertDir | undefined;
let ca: Pem;
let device: Pem;
let rogue: Pem;
/** client certificates required */
let strict: NodeProcess | undefined;
/** client certificates verified when sent */
let lenient: NodeProcess | undefined;
const clients: MqttClient[] = [];

// the ACL sees the certificate's name: only device-1 may subscribe to its topic
const ACL = `{allow, {user, "device-1"}, subscribe, ["devices/device-1/#"]}.
{deny, all, subscribe, ["devices/#"]}.
{allow, all}.
`;

before(async () => {
  certs = certDir();
  ca = certs.ca('mqtt-ca');
  const other = certs.ca('other-ca');
  const server = certs.server('mqtt', ca);
  device = certs.client('device', 'device-1', ca);
  // the same name, signed by a CA the node does not trust
  rogue = certs.client('rogue', 'device-1', other);
  const aclFile = join(certs.dir, 'acl.conf');
  writeFileSync(aclFile, ACL);
  const env = {
    STARLING_TLS_CERT: server.certFile,
    STARLING_TLS_KEY: server.keyFile,
    STARLING_TLS_CA: ca.certFile,
    STARLING_TLS_VERIFY_PEER: 'true',
    STARLING_TLS_PEER_CERT_AS_USERNAME: 'cn',
    STARLING_MQTTS_PORT: '0',
    STARLING_ACL_FILE: aclFile,
  };
  [strict, lenient] = await Promise.all([
    startNode({ name: 'mtls-strict', env: { ...env, STARLING_TLS_FAIL_IF_NO_PEER_CERT: 'true' } }),
    startNode({ name: 'mtls-lenient', env }),
  ]);
});

after(async () => {
  await Promise.allSettled(clients.map((cl) => cl.endAsync(true)));
  await Promise.allSettled([strict?.stop(), lenient?.stop()]);
  certs?.remove();
});

const tlsUrl = (n: NodeProcess): string => `mqtts://127.0.0.1:${n.mqttsPort}`;
const apiBase = (n: NodeProcess): string => `http://127.0.0.1:${n.listeners['http:management']}`;

/** Connects over TLS trusting the test's CA; rejects if the node closes the connection first. */
async function connect(n: NodeProcess, opts: IClientOptions): Promise<MqttClient> {
  const cl = await mqtt.connectAsync(tlsUrl(n), { ca: ca.cert, reconnectPeriod: 0, connectTimeout: 5000, ...opts }, false);
  clients.push(cl);
  return cl;
}

/** The client's username as the node's API shows it. */
async function usernameOf(n: NodeProcess, clientId: string): Promise<unknown> {
  const r = await api(apiBase(n), 'GET', `/api/v4/clients/${encodeURIComponent(clientId)}`);
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  assert.equal(r.body.data.length, 1, JSON.stringify(r.body));
  return r.body.data[0].username;
}

/** The rogue certificate (right name, wrong CA) is refused; the device's is let in, as device-1. */
async function refusesRogueThenServes(n: NodeProcess): Promise<void> {
  await assert.rejects(connect(n, { clientId: uid('rogue'), cert: rogue.cert, key: rogue.key }));
  const clientId = uid('mtls');
  await connect(n, { clientId, cert: device.cert, key: device.key });
  assert.equal(await usernameOf(n, clientId), 'device-1');
}

describe('verify_peer with fail_if_no_peer_cert', () => {
  it('lets in a client whose certificate the CA signed, its CN as username over CONNECT\'s', async () => {
    const clientId = uid('mtls');
    const cl = await connect(strict!, { clientId, cert: device.cert, key: device.key, username: 'spoofed' });
    assert.equal(await usernameOf(strict!, clientId), 'device-1');
    // the ACL sees the CN: its own topic granted, another device's refused
    const granted = await cl.subscribeAsync('devices/device-1/cmd', { qos: 1 });
    assert.equal(granted[0]!.qos, 1);
    await assert.rejects(cl.subscribeAsync('devices/device-2/cmd', { qos: 1 }), /Subscribe error/, 'SUBACK 0x80');
  });

  it('refuses a client without a certificate', async () => {
    await assert.rejects(connect(strict!, { clientId: uid('nocert'), username: 'device-1' }));
  });

  it('refuses a certificate of another CA, and goes on serving', () => refusesRogueThenServes(strict!));
});

describe('verify_peer without fail_if_no_peer_cert', () => {
  it('lets in a client without a certificate, with CONNECT\'s username, which gets no certificate\'s rights', async () => {
    const clientId = uid('nocert');
    const cl = await connect(lenient!, { clientId, username: 'someone' });
    assert.equal(await usernameOf(lenient!, clientId), 'someone');
    await assert.rejects(cl.subscribeAsync('devices/device-1/cmd', { qos: 1 }), /Subscribe error/, 'SUBACK 0x80');
  });

  it('still refuses a certificate of another CA, and takes the CN of a good one', () => refusesRogueThenServes(lenient!));
});

it('refuses to start with STARLING_TLS_VERIFY_PEER and no CA', () => {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) if (/^(STARLING_|NATS_URL$|REDIS_URL$)/.test(k)) delete env[k];
  const r = spawnSync(process.execPath, [NODE_MAIN], {
    env: { ...env, STARLING_BIND: '127.0.0.1', STARLING_TLS_CERT: `${certs!.dir}/mqtt.crt`, STARLING_TLS_KEY: `${certs!.dir}/mqtt.key`, STARLING_TLS_VERIFY_PEER: 'true' },
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /STARLING_TLS_VERIFY_PEER needs STARLING_TLS_CA/);
});
