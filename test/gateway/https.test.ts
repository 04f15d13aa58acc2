// HTTPS for the management API with a certificate the test makes (openssl): with
// STARLING_API_TLS_CERT/_KEY every port of the gateway speaks HTTPS (plain HTTP gets no API
// answer); with STARLING_API_TLS_PORT too, HTTPS on that port beside plain HTTP. Basic auth
// and /status are the same over either; only one of the two files is a configuration error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, startNode } from '../support/broker.js';
import { certDir, type CertDir, type Pem } from '../support/certs.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { GATEWAY_MAIN, startGateway, type GatewayProcess } from '../support/gateway.js';
import { httpCall } from '../support/http-call.js';

let certs: CertDir | undefined;
let ca: Pem;
let c: TestCluster | undefined;
let gwHttps: GatewayProcess | undefined;
let gwBoth: GatewayProcess | undefined;

before(async () => {
  certs = certDir();
  ca = certs.ca('api-ca');
  const server = certs.server('api', ca);
  const tls = { STARLING_API_TLS_CERT: server.certFile, STARLING_API_TLS_KEY: server.keyFile };
  c = await startCluster(['n1']);
  [gwHttps, gwBoth] = await Promise.all([
    startGateway(c, { ...tls, STARLING_DASHBOARD_PORT: '0' }),
    startGateway(c, { ...tls, STARLING_API_TLS_PORT: '0' }),
  ]);
});

after(async () => {
  await Promise.allSettled([gwHttps?.stop(), gwBoth?.stop()]);
  await c?.stop();
  certs?.remove();
});

/** The API over `base` (http:// or https://, trusting the test's CA). */
const brokers = (base: string, auth?: string) => httpCall(`${base}/api/v4/brokers`, { ca: ca.cert, ...(auth === undefined ? {} : { auth }) });

describe('HTTPS on every port', () => {
  it('serves the API, /status and Basic auth over HTTPS', async () => {
    assert.ok(gwHttps!.https && gwHttps!.url.startsWith('https://'));
    const r = await brokers(gwHttps!.url, 'admin:public');
    assert.equal(r.status, 200);
    assert.equal(r.body.code, 0);
    assert.equal(r.body.data[0].node, 'n1@127.0.0.1');
    assert.equal((await httpCall(`${gwHttps!.url}/status`, { ca: ca.cert })).status, 200);
    const refused = await brokers(gwHttps!.url, 'admin:wrong');
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 103);
    // the dashboard's port too
    assert.equal((await brokers(`https://127.0.0.1:${gwHttps!.dashboardPort}`, 'admin:public')).status, 200);
  });

  it('gives plain HTTP no API answer, and a client that does not trust the certificate nothing', async () => {
    await assert.rejects(httpCall(`http://127.0.0.1:${gwHttps!.port}/api/v4/brokers`, { auth: 'admin:public' }));
    await assert.rejects(httpCall(`${gwHttps!.url}/status`), /self.signed|certificate/i);
    // and goes on serving
    assert.equal((await brokers(gwHttps!.url, 'admin:public')).status, 200);
  });
});

describe('HTTPS on a port of its own', () => {
  it('serves HTTPS on STARLING_API_TLS_PORT and plain HTTP on the API port', async () => {
    assert.equal(gwBoth!.https, false);
    assert.ok(gwBoth!.tlsPort);
    const secure = await brokers(`https://127.0.0.1:${gwBoth!.tlsPort}`, 'admin:public');
    assert.equal(secure.status, 200);
    assert.equal(secure.body.code, 0);
    assert.equal((await brokers(gwBoth!.url, 'admin:public')).status, 200);
    assert.equal((await brokers(`https://127.0.0.1:${gwBoth!.tlsPort}`)).status, 401);
  });
});

it('serves a standalone node\'s API over HTTPS too, listed as https:management', async () => {
  const node = await startNode({ name: 'https-standalone', env: { STARLING_API_TLS_CERT: `${certs!.dir}/api.crt`, STARLING_API_TLS_KEY: `${certs!.dir}/api.key` } });
  try {
    const port = node.listeners['https:management'];
    assert.ok(port, JSON.stringify(node.listeners));
    const r = await httpCall(`https://127.0.0.1:${port}/api/v4/listeners`, { ca: ca.cert, auth: 'admin:public' });
    assert.equal(r.status, 200);
    const rows = r.body.data[0].listeners as { protocol: string }[];
    assert.ok(rows.some((l) => l.protocol === 'https:management'), JSON.stringify(rows));
  } finally {
    await node.stop();
  }
});

it("the image's health check asks /status over HTTPS when the API port speaks it", () => {
  const check = (env: Record<string, string>) =>
    spawnSync(process.execPath, [join(REPO_ROOT, 'deploy', 'healthcheck.mjs'), 'gateway'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 10_000 });
  const server = { STARLING_API_TLS_CERT: `${certs!.dir}/api.crt`, STARLING_API_TLS_KEY: `${certs!.dir}/api.key` };
  const healthy = check({ ...server, STARLING_API_PORT: String(gwHttps!.port) });
  assert.equal(healthy.status, 0, healthy.stderr);
  const separate = check({ ...server, STARLING_API_TLS_PORT: '0', STARLING_API_PORT: String(gwBoth!.port) });
  assert.equal(separate.status, 0, separate.stderr);
});

it('refuses to start with a certificate and no key', () => {
  const r = spawnSync(process.execPath, [GATEWAY_MAIN], {
    env: { ...process.env, NATS_URL: c!.nats.url, REDIS_URL: c!.redis.url, STARLING_API_PORT: '0', STARLING_BIND: '127.0.0.1', STARLING_API_TLS_CERT: `${certs!.dir}/api.crt` },
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /STARLING_API_TLS_CERT and STARLING_API_TLS_KEY/);
});
