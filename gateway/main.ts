import { ConfigError, helpText, loadConfig, type Config } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { NatsRpcTransport } from '../shared/cluster/nats/rpc.js';
import { RedisStore } from '../shared/cluster/redis-store.js';
import { redisTarget } from '../shared/cluster/redis/url.js';
import { gatewaySettings, startGateway } from './server.js';

/**
 * Entry point of a gateway: the stateless management API of a cluster. It holds nothing
 * of its own; any number run side by side behind a load balancer.
 */
async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(
      helpText('Usage: npm run start:gateway\n       node dist/gateway/main.js [--config FILE]\n\nRuns one Starling gateway (management API) for the cluster at NATS_URL and REDIS_URL.'),
    );
    return;
  }
  let cfg: Config;
  try {
    cfg = loadConfig();
    if (!cfg.natsUrl || !cfg.redisUrl) throw new ConfigError('a gateway needs NATS_URL and REDIS_URL (a standalone node serves its own API: npm start)');
    redisTarget(cfg.redisUrl); // a malformed Sentinel form is a config error
    gatewaySettings(cfg); // HTTPS needs both files
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`starling: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(cfg.logLevel, { component: 'gateway' });
  const transport = new NatsRpcTransport({ url: cfg.natsUrl, name: 'gateway', log: log.child({ component: 'nats' }) });
  const store = new RedisStore({ url: cfg.redisUrl, log: log.child({ component: 'redis' }) });
  await Promise.all([transport.start(), store.start()]);
  const gw = await startGateway({ transport, store, log, ...gatewaySettings(cfg) });
  log.info({ port: gw.port, v3Port: gw.v3Port, dashboardPort: gw.dashboardPort, tlsPort: gw.tlsPort, https: gw.https }, 'gateway started');

  const shutdown = async (): Promise<void> => {
    await gw.close();
    await Promise.allSettled([transport.close(), store.close()]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
}

await main();
