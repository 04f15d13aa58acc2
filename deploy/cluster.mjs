#!/usr/bin/env node
// `npm run cluster`: the docker-compose topology as local processes on 127.0.0.1, for
// machines without a Docker engine: nats-server, redis-server (CLUSTER_HA=1: three routed
// nats-servers, a Redis primary, its replica and three redis-sentinels, as
// docker-compose.ha.yml), three broker nodes, two gateways, HAProxy in front of both (deploy/haproxy.cfg) and Prometheus scraping the
// gateways (deploy/prometheus.yml). It waits for each to be ready, prints where
// everything listens, and stops everything on Ctrl-C or SIGTERM. A process that dies
// while the cluster starts stops the rest and exits 1; one that dies later is reported
// and the others carry on (so a gateway or node can be killed to watch HAProxy fail over).
//
// It never builds (run `npm run build` after changing the sources), so it can start while
// other nodes start from the same checkout. Ports come from the environment (defaults in
// PORTS below); two clusters run side by side with other ports and another CLUSTER_RUN_DIR.
// Logs, the Prometheus data and cluster.json (what listens where, for scripts) go to
// CLUSTER_RUN_DIR (default deploy/.run/), emptied at each start.
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, copyFileSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEPLOY = join(ROOT, 'deploy');
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = Number(process.env.CLUSTER_START_TIMEOUT_MS || 60_000);
const STOP_GRACE_MS = 10_000;
const NODES = ['n1', 'n2', 'n3'];
const GATEWAYS = ['gw1', 'gw2'];
// CLUSTER_HA=1: no single point of failure, three routed nats-servers and a Redis primary
// with a replica watched by three sentinels (README: "No single point of failure").
const HA = process.env.CLUSTER_HA === '1' || process.env.CLUSTER_HA === 'true';
const NATS_SERVERS = HA ? ['nats1', 'nats2', 'nats3'] : ['nats'];
const SENTINELS = HA ? ['sentinel1', 'sentinel2', 'sentinel3'] : [];
const REDIS_SERVERS = HA ? ['redis', 'redis-replica'] : ['redis'];
const SENTINEL_MASTER = 'starling';

// [environment variable, default, what]. A node or gateway port is the first one's;
// the next ones count up from it. 0 lets each node or gateway pick a free port.
const PORTS = {
  mqtt: ['CLUSTER_MQTT_PORT', 1883, 'MQTT through HAProxy'],
  api: ['CLUSTER_API_PORT', 8081, 'management API through HAProxy'],
  stats: ['CLUSTER_HAPROXY_STATS_PORT', 8404, 'HAProxy stats page'],
  nodeMqtt: ['CLUSTER_NODE_MQTT_PORT', 1884, "first node's MQTT port (0: free ports)"],
  nodeWs: ['CLUSTER_NODE_WS_PORT', 8084, "first node's MQTT over WebSocket port (0: free ports, -1: off)"],
  gateway: ['CLUSTER_GATEWAY_PORT', 8091, "first gateway's API port (0: free ports)"],
  nats: ['CLUSTER_NATS_PORT', 4222, 'nats-server (CLUSTER_HA: the first of three)'],
  redis: ['CLUSTER_REDIS_PORT', 6379, 'redis-server (CLUSTER_HA: the primary, its replica on the next port)'],
  natsRoutes: ['CLUSTER_NATS_CLUSTER_PORT', 6222, 'CLUSTER_HA: the first nats-server\'s cluster (route) port'],
  sentinel: ['CLUSTER_SENTINEL_PORT', 26379, 'CLUSTER_HA: the first of three redis-sentinels'],
  prometheus: ['CLUSTER_PROMETHEUS_PORT', 9090, 'Prometheus'],
};

function usage() {
  const rows = Object.values(PORTS).map(([v, d, what]) => `  ${v.padEnd(28)} ${String(d).padEnd(6)} ${what}`);
  return [
    'Usage: npm run cluster        (node deploy/cluster.mjs)',
    '',
    'Starts nats-server, redis-server, 3 nodes, 2 gateways, HAProxy and Prometheus on 127.0.0.1.',
    'Environment (variable, default, meaning):',
    ...rows,
    `  ${'CLUSTER_HAPROXY_CHECK_INTER'.padEnd(28)} ${'2s'.padEnd(6)} HAProxy health check interval`,
    `  ${'CLUSTER_HA'.padEnd(28)} ${'0'.padEnd(6)} 1: 3 routed nats-servers, Redis primary + replica + 3 redis-sentinels`,
    `  ${'CLUSTER_RUN_DIR'.padEnd(28)} deploy/.run  logs and runtime files`,
    '  STARLING_*                   passed to every node and gateway (see the README)',
    '  NODE4_ADDR, GATEWAY3_ADDR..  passed to HAProxy, for servers added to deploy/haproxy.cfg (README: scaling)',
    '',
  ].join('\n');
}

function die(msg) {
  process.stderr.write(`cluster: ${msg}\n`);
  process.exit(2);
}

function readPorts() {
  const out = {};
  for (const [key, [name, def]] of Object.entries(PORTS)) {
    const raw = process.env[name];
    const n = raw === undefined || raw === '' ? def : Number(raw);
    const min = key === 'nodeWs' ? -1 : key === 'nodeMqtt' || key === 'gateway' ? 0 : 1;
    if (!Number.isInteger(n) || n < min || n > 65535) die(`${name} must be a port number (${min}..65535), got ${JSON.stringify(raw)}`);
    out[key] = n;
  }
  return out;
}

// Debian puts nats-server and haproxy in /usr/sbin, which a non-root PATH often lacks.
function findBinary(name, debianPackage) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin'];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      /* keep looking */
    }
  }
  die(`${name} not found on PATH or in /usr/sbin; install the Debian package ${debianPackage}`);
}

function portFree(port) {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen({ host: HOST, port, exclusive: true }, () => srv.close(() => res(true)));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @typedef {{ name: string, pid: number, logPath: string, status: null | { code: number | null, signal: string | null }, exited: Promise<unknown>, kill(sig: string): void }} Child */

/** @type {Child[]} */
const children = [];
/** 'starting' until every process is ready, then 'running', then 'stopping'. */
let phase = 'starting';
let runDir = '';

function logTail(child, n = 20) {
  try {
    return readFileSync(child.logPath, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

function describeExit(s) {
  return s.signal ? `signal ${s.signal}` : `code ${s.code}`;
}

/**
 * Starts one process with its output going to <runDir>/<name>.log. Children stay in the
 * launcher's process group: Ctrl-C in a terminal reaches each of them at once (each stops
 * itself, the launcher waits for all), and whoever kills the group kills the whole cluster.
 */
function launch(name, cmd, args, extraEnv = {}) {
  const logPath = join(runDir, `${name}.log`);
  const fd = openSync(logPath, 'w');
  const proc = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...extraEnv }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  /** @type {Child} */
  const child = {
    name,
    pid: proc.pid ?? 0,
    logPath,
    status: null,
    exited: new Promise((res) => {
      proc.once('exit', (code, signal) => {
        child.status = { code, signal };
        res(child.status);
      });
      proc.once('error', (err) => {
        child.status ??= { code: -1, signal: null };
        process.stderr.write(`cluster: ${name}: ${err.message}\n`);
        res(child.status);
      });
    }),
    kill(sig) {
      if (child.status) return;
      try {
        proc.kill(sig);
      } catch {
        /* already gone */
      }
    },
  };
  children.push(child);
  void child.exited.then((s) => {
    if (phase === 'running') process.stderr.write(`cluster: ${name} (pid ${child.pid}) exited (${describeExit(s)}); see ${relative(process.cwd(), logPath)}\n`);
  });
  return child;
}

/** Polls check() until it returns a value; fails when the process exits first or on timeout. */
async function ready(child, what, check) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.status) throw new Error(`${child.name} exited (${describeExit(child.status)}) before ${what}; last lines of ${child.logPath}:\n${logTail(child)}`);
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${child.name} not ${what} within ${START_TIMEOUT_MS} ms; last lines of ${child.logPath}:\n${logTail(child)}`);
    await sleep(100);
  }
}

function logLine(child, pred) {
  return () => {
    let text = '';
    try {
      text = readFileSync(child.logPath, 'utf8');
    } catch {
      return undefined;
    }
    for (const line of text.split('\n')) {
      const v = pred(line);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}

function jsonLog(msg) {
  return (line) => {
    if (!line.startsWith('{')) return undefined;
    try {
      const e = JSON.parse(line);
      return e.msg === msg ? e : undefined;
    } catch {
      return undefined;
    }
  };
}

async function httpOk(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * HAProxy sees every node and gateway this launcher started UP, from its stats page's CSV.
 * Servers added to haproxy.cfg for processes started by hand (README: scaling) may come later.
 */
function haproxyServersUp(statsPort) {
  const ours = new Set([...NODES.map((n) => `nodes/${n}`), ...GATEWAYS.map((g) => `gateways/${g}`)]);
  return async () => {
    const csv = await httpOk(`http://${HOST}:${statsPort}/;csv`);
    if (!csv) return undefined;
    const [header, ...rows] = csv.trim().split('\n');
    const cols = header.replace(/^# /, '').split(',');
    const sv = cols.indexOf('svname');
    const st = cols.indexOf('status');
    const up = rows.map((r) => r.split(',')).filter((r) => ours.has(`${r[0]}/${r[sv]}`) && r[st] === 'UP');
    return up.length === ours.size ? true : undefined;
  };
}

/** Stops processes tier by tier (front to back): SIGTERM, SIGKILL after the grace period. */
async function stopAll() {
  const tiers = [['haproxy', 'prometheus'], GATEWAYS, NODES, [...NATS_SERVERS, ...SENTINELS], REDIS_SERVERS];
  for (const tier of tiers) {
    const group = children.filter((c) => tier.includes(c.name) && !c.status);
    for (const c of group) c.kill('SIGTERM');
    const timer = setTimeout(() => group.forEach((c) => c.kill('SIGKILL')), STOP_GRACE_MS);
    await Promise.all(group.map((c) => c.exited));
    clearTimeout(timer);
  }
}

async function shutdown(code) {
  if (phase === 'stopping') return;
  phase = 'stopping';
  process.stderr.write('cluster: stopping\n');
  await stopAll();
  rmSync(join(runDir, 'launcher.pid'), { force: true });
  process.stderr.write('cluster: stopped\n');
  process.exit(code);
}

// A second Ctrl-C while stopping: kill at once.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (phase === 'stopping') children.forEach((c) => c.kill('SIGKILL'));
    else void shutdown(0);
  });
}
// Whatever happens to this process, its children do not outlive it.
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function printTable(rows) {
  const head = ['what', 'address', 'port', 'pid'];
  const cells = rows.map((r) => [r.what, r.address, String(r.port), r.pid ? String(r.pid) : '']);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const fmt = (c) => c.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  const lines = [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...cells.map(fmt)];
  process.stdout.write(`${lines.join('\n')}\n`);
}

const readyLine = (child, text) => ready(child, 'ready', logLine(child, (l) => (text.test(l) ? true : undefined)));

/**
 * NATS and Redis: one server each, or (CLUSTER_HA) three nats-servers routed to each other
 * and a Redis primary, its replica and three sentinels. Resolves with the URLs the nodes and
 * gateways get and the table's rows.
 */
async function startServices(ports, bins) {
  const redisArgs = (port, dir) => ['--bind', HOST, '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir];
  if (!HA) {
    // -js: JetStream keeps the durable sessions (README "Durable sessions")
    const nats = launch('nats', bins.nats, ['-a', HOST, '-p', String(ports.nats), '-js', '-sd', join(runDir, 'nats-js')]);
    const redis = launch('redis', bins.redis, redisArgs(ports.redis, runDir));
    await Promise.all([readyLine(nats, /Server is ready/), readyLine(redis, /Ready to accept connections/)]);
    const natsUrl = `nats://${HOST}:${ports.nats}`;
    const redisUrl = `redis://${HOST}:${ports.redis}`;
    return {
      natsUrl,
      redisUrl,
      serviceRows: [
        { name: 'nats', what: 'nats-server', address: natsUrl, port: ports.nats, pid: nats.pid },
        { name: 'redis', what: 'redis-server', address: redisUrl, port: ports.redis, pid: redis.pid },
      ],
    };
  }
  const at = (base, i) => (base <= 0 ? 0 : base + i);
  const routes = NATS_SERVERS.map((_, i) => `nats://${HOST}:${at(ports.natsRoutes, i)}`);
  const nats = NATS_SERVERS.map((name, i) =>
    launch(name, bins.nats, ['-a', HOST, '-p', String(at(ports.nats, i)), '-n', name, '--cluster_name', 'starling', '-cluster', routes[i], '-routes', routes.filter((_, j) => j !== i).join(','), '-js', '-sd', join(runDir, `${name}-js`)]),
  );
  // each Redis server in a dir of its own: a replica writes the dump it syncs to its dir
  const dirs = REDIS_SERVERS.map((name) => join(runDir, name));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const primary = launch('redis', bins.redis, redisArgs(ports.redis, dirs[0]));
  await Promise.all([...nats.map((n) => readyLine(n, /Server is ready/)), readyLine(primary, /Ready to accept connections/)]);
  const replica = launch('redis-replica', bins.redis, [...redisArgs(at(ports.redis, 1), dirs[1]), '--replicaof', HOST, String(ports.redis)]);
  await readyLine(replica, /MASTER <-> REPLICA sync: Finished with success|Master accepted a Partial Resynchronization/);
  // sentinel rewrites its config file with what it learns: one writable file each
  const sentinels = SENTINELS.map((name, i) => {
    const conf = join(runDir, `${name}.conf`);
    const lines = [
      `port ${at(ports.sentinel, i)}`,
      `bind ${HOST}`,
      `dir ${runDir}`,
      `sentinel monitor ${SENTINEL_MASTER} ${HOST} ${ports.redis} 2`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER} 2000`,
      `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
      `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
    ];
    writeFileSync(conf, `${lines.join('\n')}\n`);
    return launch(name, bins.sentinel, [conf]);
  });
  await Promise.all(sentinels.map((s) => readyLine(s, /\+monitor master/)));
  const natsUrl = NATS_SERVERS.map((_, i) => `nats://${HOST}:${at(ports.nats, i)}`).join(',');
  const redisUrl = `redis-sentinel://${SENTINELS.map((_, i) => `${HOST}:${at(ports.sentinel, i)}`).join(',')}/${SENTINEL_MASTER}`;
  return {
    natsUrl,
    redisUrl,
    serviceRows: [
      ...nats.map((n, i) => ({ name: n.name, what: `nats-server ${n.name}`, address: `nats://${HOST}:${at(ports.nats, i)}`, port: at(ports.nats, i), pid: n.pid })),
      { name: 'redis', what: 'redis-server primary', address: `redis://${HOST}:${ports.redis}`, port: ports.redis, pid: primary.pid },
      { name: 'redis-replica', what: 'redis-server replica', address: `redis://${HOST}:${at(ports.redis, 1)}`, port: at(ports.redis, 1), pid: replica.pid },
      ...sentinels.map((s, i) => ({ name: s.name, what: `redis-sentinel ${s.name}`, address: `${HOST}:${at(ports.sentinel, i)}`, port: at(ports.sentinel, i), pid: s.pid })),
      { name: 'redis-url', what: 'REDIS_URL of the nodes', address: redisUrl, port: '', pid: undefined },
    ],
  };
}

async function main() {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(usage());
    return;
  }
  const ports = readPorts();
  const checkInter = process.env.CLUSTER_HAPROXY_CHECK_INTER || '2s';
  runDir = resolve(process.env.CLUSTER_RUN_DIR || join(DEPLOY, '.run'));
  const bins = {
    nats: findBinary('nats-server', 'nats-server'),
    redis: findBinary('redis-server', 'redis-server'),
    ...(HA ? { sentinel: findBinary('redis-sentinel', 'redis-sentinel') } : {}),
    haproxy: findBinary('haproxy', 'haproxy'),
    prometheus: findBinary('prometheus', 'prometheus'),
  };
  for (const main of ['dist/node/main.js', 'dist/gateway/main.js']) {
    try {
      accessSync(join(ROOT, main), constants.R_OK);
    } catch {
      die(`${main} is missing: build first (npm run build)`);
    }
  }
  const counts = { nodeMqtt: NODES.length, nodeWs: NODES.length, gateway: GATEWAYS.length, nats: NATS_SERVERS.length, redis: REDIS_SERVERS.length, natsRoutes: HA ? 3 : 0, sentinel: SENTINELS.length };
  const fixed = Object.entries(PORTS).flatMap(([key, [name]]) => {
    const p = ports[key];
    if (p <= 0) return [];
    const count = counts[key] ?? 1;
    return Array.from({ length: count }, (_, i) => [p + i, name]);
  });
  for (const [p, name] of fixed) {
    if (!(await portFree(p))) die(`port ${p} on ${HOST} is in use (${name}); set ${name} to another port`);
  }
  if (new Set(fixed.map(([p]) => p)).size !== fixed.length) die('two of the CLUSTER_*_PORT settings overlap');

  mkdirSync(runDir, { recursive: true });
  const pidFile = join(runDir, 'launcher.pid');
  try {
    const other = Number(readFileSync(pidFile, 'utf8'));
    process.kill(other, 0);
    die(`another cluster (pid ${other}) uses ${runDir}; stop it or set CLUSTER_RUN_DIR`);
  } catch (err) {
    if (err?.code !== 'ENOENT' && err?.code !== 'ESRCH') throw err;
  }
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(join(runDir, 'prometheus', 'targets'), { recursive: true });
  writeFileSync(pidFile, String(process.pid));

  const { natsUrl, redisUrl, serviceRows } = await startServices(ports, bins);

  // three JetStream servers: the durable sessions are replicated on all three
  const clusterEnv = { NATS_URL: natsUrl, REDIS_URL: redisUrl, STARLING_BIND: HOST, ...(HA ? { STARLING_DURABLE_REPLICAS: '3' } : {}) };
  const from = (base, i) => (base <= 0 ? base : base + i);
  const nodes = NODES.map((name, i) =>
    launch(name, process.execPath, ['dist/node/main.js'], {
      ...clusterEnv,
      STARLING_NODE_NAME: `${name}@${HOST}`,
      STARLING_MQTT_PORT: String(from(ports.nodeMqtt, i)),
      STARLING_WS_PORT: String(from(ports.nodeWs, i)),
    }),
  );
  const nodeListeners = await Promise.all(nodes.map((n) => ready(n, 'started', logLine(n, jsonLog('node started'))).then((e) => e.listeners)));
  const gateways = GATEWAYS.map((name, i) =>
    launch(name, process.execPath, ['dist/gateway/main.js'], { ...clusterEnv, STARLING_API_PORT: String(from(ports.gateway, i)) }),
  );
  const gatewayPorts = await Promise.all(gateways.map((g) => ready(g, 'started', logLine(g, jsonLog('gateway started'))).then((e) => e.port)));

  const haproxyEnv = {
    HAPROXY_BIND: HOST,
    HAPROXY_MQTT_PORT: String(ports.mqtt),
    HAPROXY_API_PORT: String(ports.api),
    HAPROXY_STATS_PORT: String(ports.stats),
    HAPROXY_CHECK_INTER: checkInter,
  };
  nodeListeners.forEach((l, i) => (haproxyEnv[`NODE${i + 1}_ADDR`] = `${HOST}:${l['mqtt:tcp']}`));
  gatewayPorts.forEach((p, i) => (haproxyEnv[`GATEWAY${i + 1}_ADDR`] = `${HOST}:${p}`));
  const haproxy = launch('haproxy', bins.haproxy, ['-db', '-f', join(DEPLOY, 'haproxy.cfg')], haproxyEnv);

  // The same prometheus.yml as compose's, beside the targets file it reads (file_sd paths
  // are relative to the config file's folder).
  const promDir = join(runDir, 'prometheus');
  copyFileSync(join(DEPLOY, 'prometheus.yml'), join(promDir, 'prometheus.yml'));
  const targets = GATEWAYS.map((name, i) => ({ targets: [`${HOST}:${gatewayPorts[i]}`], labels: { gateway: name } }));
  writeFileSync(join(promDir, 'targets', 'gateways.json'), `${JSON.stringify(targets, null, 2)}\n`);
  const prometheus = launch('prometheus', bins.prometheus, [
    `--config.file=${join(promDir, 'prometheus.yml')}`,
    `--web.listen-address=${HOST}:${ports.prometheus}`,
    `--storage.tsdb.path=${join(promDir, 'data')}`,
  ]);
  await Promise.all([
    ready(haproxy, 'ready (every node and gateway UP)', haproxyServersUp(ports.stats)),
    ready(prometheus, 'ready', () => httpOk(`http://${HOST}:${ports.prometheus}/-/ready`)),
  ]);

  const rows = [
    { name: 'mqtt', what: 'MQTT (HAProxy → nodes)', address: `mqtt://${HOST}:${ports.mqtt}`, port: ports.mqtt, pid: haproxy.pid },
    { name: 'api', what: 'API (HAProxy → gateways)', address: `http://${HOST}:${ports.api}/api/v4`, port: ports.api, pid: haproxy.pid },
    { name: 'stats', what: 'HAProxy stats', address: `http://${HOST}:${ports.stats}/`, port: ports.stats, pid: haproxy.pid },
    { name: 'prometheus', what: 'Prometheus', address: `http://${HOST}:${ports.prometheus}/`, port: ports.prometheus, pid: prometheus.pid },
    ...gateways.map((g, i) => ({ name: g.name, what: `gateway ${g.name} API`, address: `http://${HOST}:${gatewayPorts[i]}`, port: gatewayPorts[i], pid: g.pid })),
    ...nodes.flatMap((n, i) => [
      { name: n.name, what: `node ${n.name}@${HOST} MQTT`, address: `mqtt://${HOST}:${nodeListeners[i]['mqtt:tcp']}`, port: nodeListeners[i]['mqtt:tcp'], pid: n.pid },
      ...(nodeListeners[i]['mqtt:ws']
        ? [{ name: `${n.name}-ws`, what: `node ${n.name}@${HOST} WebSocket`, address: `ws://${HOST}:${nodeListeners[i]['mqtt:ws']}/mqtt`, port: nodeListeners[i]['mqtt:ws'], pid: n.pid }]
        : []),
    ]),
    ...serviceRows,
  ];
  writeFileSync(join(runDir, 'cluster.json'), `${JSON.stringify(rows, null, 2)}\n`);
  phase = 'running';
  printTable(rows);
  process.stdout.write(`API credentials admin:public · logs in ${relative(process.cwd(), runDir) || '.'}/ · Ctrl-C stops everything\ncluster ready\n`);
}

main().catch(async (err) => {
  process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
  if (phase === 'stopping') return;
  phase = 'stopping';
  await stopAll();
  if (runDir) rmSync(join(runDir, 'launcher.pid'), { force: true });
  process.exit(1);
});
