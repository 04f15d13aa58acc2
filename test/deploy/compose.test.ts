// deploy/docker-compose.yml is checked the only way this machine can (no Docker engine):
// `docker-compose config` accepts it, and the configs it mounts are valid for the addresses
// it gives them: HAProxy's with compose's environment, Prometheus's with compose's targets.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/broker.js';
import { findBinary } from '../support/services.js';

const run = promisify(execFile);
const DEPLOY = join(REPO_ROOT, 'deploy');
const COMPOSE_FILE = join(DEPLOY, 'docker-compose.yml');
const BOUNDED = { timeout: 60_000 };
/** Bind mounts as `docker-compose config` prints them: `- /abs/source:/target[:ro]`. */
function mounts(config: string): { source: string; target: string }[] {
  return [...config.matchAll(/^ {4}- (\/[^:\s]+):(\/[^:\s]+)(?::ro)?$/gm)].map((m) => ({ source: m[1]!, target: m[2]! }));
}

const SERVICES = ['gateway1', 'gateway2', 'haproxy', 'n1', 'n2', 'n3', 'nats', 'prometheus', 'redis'];

async function compose(...args: string[]): Promise<string> {
  const { stdout } = await run(findBinary('docker-compose'), ['-f', COMPOSE_FILE, ...args], { cwd: REPO_ROOT, timeout: 30_000 });
  return stdout;
}

/** One service's `environment:` from `docker-compose config`'s normalised YAML (two-space indents, one KEY: value a line). */
function serviceEnv(config: string, service: string): Record<string, string> {
  const lines = config.split('\n');
  const start = lines.indexOf(`  ${service}:`);
  assert.ok(start >= 0, `service ${service} in the config`);
  const env: Record<string, string> = {};
  let i = lines.indexOf('    environment:', start);
  assert.ok(i > start, `${service} has an environment`);
  while (/^ {6}\S/.test(lines[++i] ?? '')) {
    const m = /^ {6}([A-Z0-9_]+): (.*)$/.exec(lines[i]!);
    assert.ok(m, lines[i]);
    env[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
  }
  return env;
}

it('docker-compose config accepts the file and lists the whole topology', BOUNDED, async () => {
  const config = await compose('config');
  assert.match(config, /condition: service_healthy/);
  assert.deepEqual((await compose('config', '--services')).trim().split('\n').sort(), SERVICES);
  for (const n of ['n1', 'n2', 'n3']) assert.equal(serviceEnv(config, n).STARLING_NODE_NAME, `${n}@node${n.slice(1)}`);
});

it('every file compose mounts exists', BOUNDED, async () => {
  const config = await compose('config');
  const found = mounts(config);
  assert.equal(found.length, 3, config);
  for (const m of found) assert.ok(existsSync(m.source), `${m.source} exists`);
});

it('haproxy.cfg is valid with the environment compose gives HAProxy, which sets every variable it uses', BOUNDED, async () => {
  const env = serviceEnv(await compose('config'), 'haproxy');
  const cfg = readFileSync(join(DEPLOY, 'haproxy.cfg'), 'utf8');
  const directives = cfg.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
  const required = [...directives.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]!);
  assert.ok(required.length >= 9);
  for (const v of required) assert.ok(env[v], `compose sets ${v} for HAProxy`);
  // the service names do not resolve here: init-addr none starts those servers DOWN
  const { stdout, stderr } = await run(findBinary('haproxy'), ['-c', '-f', join(DEPLOY, 'haproxy.cfg')], { env: { PATH: process.env.PATH, ...env }, timeout: 10_000 });
  assert.match(stdout + stderr, /Configuration file is valid/);
});

it('prometheus.yml is valid with the targets file compose mounts beside it', BOUNDED, async () => {
  const config = await compose('config');
  assert.deepEqual(
    mounts(config).filter((m) => m.target.startsWith('/etc/prometheus/')),
    [
      { source: join(DEPLOY, 'prometheus.yml'), target: '/etc/prometheus/prometheus.yml' },
      { source: join(DEPLOY, 'prometheus-targets.json'), target: '/etc/prometheus/targets/gateways.json' },
    ],
  );
  // the same layout as in the container: targets/ beside prometheus.yml
  const dir = mkdtempSync(join(tmpdir(), 'starling-prom-'));
  try {
    mkdirSync(join(dir, 'targets'));
    copyFileSync(join(DEPLOY, 'prometheus.yml'), join(dir, 'prometheus.yml'));
    copyFileSync(join(DEPLOY, 'prometheus-targets.json'), join(dir, 'targets', 'gateways.json'));
    const { stdout, stderr } = await run(findBinary('promtool', 'prometheus'), ['check', 'config', join(dir, 'prometheus.yml')], { timeout: 10_000 });
    assert.match(stdout + stderr, /SUCCESS/);
    assert.doesNotMatch(stdout + stderr, /WARNING/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const targets = JSON.parse(readFileSync(join(DEPLOY, 'prometheus-targets.json'), 'utf8')) as { targets: string[] }[];
  const env = serviceEnv(config, 'gateway1');
  assert.deepEqual(targets.flatMap((t) => t.targets), [`gateway1:${env.STARLING_API_PORT}`, `gateway2:${env.STARLING_API_PORT}`]);
});

const HA_FILE = join(DEPLOY, 'docker-compose.ha.yml');

it('docker-compose.ha.yml over it: three routed NATS servers, Redis primary, replica and three sentinels, every node and gateway pointed at them all', BOUNDED, async () => {
  const { stdout: config } = await run(findBinary('docker-compose'), ['-f', COMPOSE_FILE, '-f', HA_FILE, 'config'], { cwd: REPO_ROOT, timeout: 30_000 });
  const { stdout: services } = await run(findBinary('docker-compose'), ['-f', COMPOSE_FILE, '-f', HA_FILE, 'config', '--services'], { cwd: REPO_ROOT, timeout: 30_000 });
  assert.deepEqual(services.trim().split('\n').sort(), [...SERVICES, 'nats2', 'nats3', 'redis-replica', 'sentinel1', 'sentinel2', 'sentinel3'].sort());
  for (const s of ['n1', 'n2', 'n3', 'gateway1', 'gateway2']) {
    const env = serviceEnv(config, s);
    assert.deepEqual(env.NATS_URL?.split(','), ['nats://nats:4222', 'nats://nats2:4222', 'nats://nats3:4222'], `${s}'s NATS_URL`);
    const sentinel = /^redis-sentinel:\/\/(.+)\/(\w+)$/.exec(env.REDIS_URL ?? '');
    assert.ok(sentinel, `${s}'s REDIS_URL names the sentinels: ${env.REDIS_URL}`);
    assert.deepEqual(sentinel[1]!.split(','), ['sentinel1:26379', 'sentinel2:26379', 'sentinel3:26379']);
    // the master name the sentinels monitor (read from the file: config folds the command)
    assert.match(readFileSync(HA_FILE, 'utf8'), new RegExp(`'sentinel monitor ${sentinel[2]} redis 6379 2'`));
  }
  // every NATS server routes to the two others (the route lists differ: one a server)
  for (const routes of ['nats://nats2:6222,nats://nats3:6222', 'nats://nats:6222,nats://nats3:6222', 'nats://nats:6222,nats://nats2:6222']) assert.ok(config.includes(`- ${routes}\n`), `a NATS server with -routes ${routes}`);
  assert.match(config, /--replicaof\n\s+- redis\n\s+- '6379'/);
});
