// The container image without a Docker engine: what deploy/Dockerfile copies exists and
// is not kept out of the build context, and its HEALTHCHECK script tells healthy from not.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/broker.js';
import { freePort } from '../support/ports.js';

const run = promisify(execFile);
const BOUNDED = { timeout: 30_000 };
const HEALTHCHECK = join(REPO_ROOT, 'deploy', 'healthcheck.mjs');

async function healthcheck(role: string, env: Record<string, string>): Promise<number> {
  try {
    await run(process.execPath, [HEALTHCHECK, role], { env: { ...process.env, ...env }, timeout: 10_000 });
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

/** Listens on a free 127.0.0.1 port; unref'd, so a failed assertion never keeps the file running. */
function listening(srv: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  srv.unref();
  return new Promise((resolve) => srv.listen({ host: '127.0.0.1', port: 0 }, () => resolve((srv.address() as { port: number }).port)));
}

it('the Dockerfile copies only files that exist and that .dockerignore lets through', BOUNDED, () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'deploy', 'Dockerfile'), 'utf8');
  const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  assert.ok(sources.includes('package-lock.json') && sources.includes('deploy/healthcheck.mjs'), sources.join(' '));
  for (const s of sources) {
    assert.ok(existsSync(join(REPO_ROOT, s)), `${s} exists`);
    assert.ok(!ignored.some((i) => s === i || s.startsWith(`${i}/`)), `${s} is not in .dockerignore`);
  }
  // one image, both roles; production dependencies only; never root
  assert.match(dockerfile, /npm ci --omit=dev --ignore-scripts/);
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /^CMD \["node", "dist\/node\/main\.js"\]$/m);
  assert.match(dockerfile, /^HEALTHCHECK .*deploy\/healthcheck\.mjs/m);
});

it('the node health check: healthy while the MQTT port accepts, unhealthy once it does not', BOUNDED, async () => {
  const srv = createServer((s) => s.destroy());
  const port = await listening(srv);
  assert.equal(await healthcheck('node', { STARLING_MQTT_PORT: String(port) }), 0);
  await new Promise((r) => srv.close(r));
  assert.equal(await healthcheck('node', { STARLING_MQTT_PORT: String(port) }), 1);
});

it('the gateway health check: healthy on GET /status 200, unhealthy on 503 or nothing listening', BOUNDED, async () => {
  let status = 200;
  const srv = createHttpServer((req, res) => {
    res.statusCode = req.url === '/status' ? status : 404;
    res.end(status === 200 ? 'emqx is running' : 'emqx is not_running');
  });
  const port = await listening(srv);
  assert.equal(await healthcheck('gateway', { STARLING_API_PORT: String(port) }), 0);
  status = 503;
  assert.equal(await healthcheck('gateway', { STARLING_API_PORT: String(port) }), 1);
  await new Promise((r) => srv.close(r));
  assert.equal(await healthcheck('gateway', { STARLING_API_PORT: String(await freePort()) }), 1);
});
