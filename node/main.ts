import { setFlagsFromString } from 'node:v8';
import { ConfigError, helpText, loadConfig, type Config } from '../shared/config.js';
import { createLogger, type Logger } from '../shared/logger.js';
import type { ClusterStore } from '../shared/cluster/store.js';
import { MemoryStore } from '../shared/cluster/memory-store.js';
import { RedisStore } from '../shared/cluster/redis-store.js';
import { composeBroker } from './core/compose.js';
import { managementListener } from './listeners/management.js';
import { checkTlsConfig } from './listeners/tls.js';
import { Cluster } from './cluster/cluster.js';
import { InProcessTransport } from './cluster/forwarding/in-process.js';
import { NatsTransport } from './cluster/forwarding/nats-transport.js';
import type { Transport } from './cluster/forwarding/transport.js';
import { gatewaySettings, startGateway } from '../gateway/server.js';
import { parseAutoSubscribe } from './features/auto-subscribe.js';
import { parseRewriteRules } from './features/rewrite.js';
import { checkWebHookConfig } from './features/web-hook/settings.js';
import { startDurableSessions } from './cluster/durable.js';
import { parseBytesRateLimit, parsePublishRateLimit } from './protocol/rate-limits.js';

/** The cluster services: NATS and Redis when configured, the in-process ones standalone. */
function clusterServices(cfg: Config, log: Logger): { transport: Transport; store: ClusterStore; mode: string } {
  if (cfg.natsUrl && cfg.redisUrl) {
    if (cfg.natsMaxBacklogMb < 1) throw new ConfigError(`natsMaxBacklogMb (STARLING_NATS_MAX_BACKLOG_MB) must be at least 1, got ${cfg.natsMaxBacklogMb}`);
    return {
      transport: new NatsTransport({ url: cfg.natsUrl, name: cfg.nodeName, log: log.child({ component: 'nats' }), maxBacklogBytes: cfg.natsMaxBacklogMb * 1024 * 1024 }),
      store: new RedisStore({ url: cfg.redisUrl, log: log.child({ component: 'redis' }) }),
      mode: 'cluster',
    };
  }
  if (cfg.natsUrl || cfg.redisUrl) throw new ConfigError('a cluster node needs both NATS_URL and REDIS_URL (neither: standalone)');
  return { transport: new InProcessTransport({ log }), store: new MemoryStore({ log }), mode: 'standalone' };
}

/** Entry point of a broker node: standalone with embedded defaults, or a cluster member with NATS_URL and REDIS_URL. */
async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(
      helpText(
        'Usage: npm start [-- --config FILE]\n       npm run start:node\n       node dist/node/main.js [--config FILE]\n\nRuns one Starling broker node: standalone, or a cluster member when NATS_URL and REDIS_URL are set.',
      ),
    );
    return;
  }
  let cfg: Config;
  let services: ReturnType<typeof clusterServices>;
  const log0 = createLogger('info');
  try {
    cfg = loadConfig();
    // the features' JSON settings are checked at start, loaded or not: a bad rule stops the node here
    parseRewriteRules(cfg.rewriteRules);
    parseAutoSubscribe(cfg.autoSubscribe);
    checkWebHookConfig(cfg);
    parsePublishRateLimit(cfg.publishRateLimit);
    parseBytesRateLimit(cfg.bytesRateLimit);
    gatewaySettings(cfg); // HTTPS needs both files
    checkTlsConfig(cfg);
    services = clusterServices(cfg, log0);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`starling: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // V8 lets the young generation grow to 16 MB × 3 under load and keeps it: at 10,000 idle
  // connections that is ~2.5 KB of resident memory per connection for nothing. Measured
  // with `npm run bench`: 2 MB semi-spaces keep throughput and halve idle memory growth.
  setFlagsFromString(`--max-semi-space-size=${cfg.semiSpaceMb}`);
  const log = createLogger(cfg.logLevel, { node: cfg.nodeName });
  // the broker with its parts and listeners (accepted streams become its connections)
  const broker = composeBroker(cfg, log);
  const cluster = new Cluster(broker, services.transport, services.store, cfg, log.child({ component: 'cluster' }));
  broker.cluster = cluster;
  if (services.mode === 'cluster') {
    // an unreachable Redis or NATS raises an alarm on this node (standalone, both are in-process)
    broker.alarmMonitors.watch('store', 'redis', services.store);
    broker.alarmMonitors.watch('transport', 'nats', services.transport);
  }
  await cluster.start({ forwardsLater: true });
  broker.durable = await startDurableSessions(broker, (n) => cluster.isLive(n), cfg, services.mode === 'cluster', log.child({ component: 'durable' }));
  if (broker.durable !== undefined) {
    cluster.attachDurable(broker.durable);
    // started again under its name after dying: its stored sessions are back here before
    // what was forwarded to them and never confirmed is sent again
    await broker.durable.takeBackOwn();
  }
  await cluster.listenForwards();
  const listeners = await broker.start();
  // standalone, the same process serves the management API over the in-process transport
  const gateway =
    services.mode === 'standalone' && cfg.apiPort >= 0
      ? await startGateway({
          transport: services.transport,
          store: services.store,
          log: log.child({ component: 'gateway' }),
          ...gatewaySettings(cfg),
          maxConnections: cfg.apiMaxConns,
        })
      : undefined;
  if (gateway) {
    listeners[gateway.https ? 'https:management' : 'http:management'] = gateway.port;
    if (gateway.tlsPort !== undefined) listeners['https:management'] = gateway.tlsPort;
    broker.otherListeners.push(managementListener(cfg.bind, cfg.apiMaxConns, gateway));
  }
  log.info({ listeners, mode: services.mode }, 'node started');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'node stopping');
    await gateway?.close();
    await broker.stop();
    await broker.durable?.stop();
    await cluster.stop();
    log.info('node stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // a bug in one connection's handling must not take every other client down with it
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
}

await main();
