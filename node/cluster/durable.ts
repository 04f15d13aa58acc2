import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { Broker } from '../broker.js';
import { metricIndex } from '../metrics/metrics.js';
import { DurableSessions, type DurableHost } from '../session/durable/durable-sessions.js';
import { JetStreamSessionStore } from '../session/durable/jetstream-store.js';
import { MemorySessionStore } from '../session/durable/memory-store.js';

const M_DROPPED = metricIndex('delivery.dropped');
const M_DROPPED_QUEUE_FULL = metricIndex('delivery.dropped.queue_full');
export const STORE_FULL_ALARM = 'durable_session_store_full';
const START_ATTEMPTS = 30;

/** What durable sessions need of a broker: its sessions, publishing (wills), the drop counters and the store-full alarm. */
export function durableHost(b: Broker, isLive: (node: string) => boolean, log: Logger): DurableHost {
  return {
    nodeName: b.nodeName,
    log,
    isLive,
    holds: (clientid) => b.sessions.has(clientid),
    publish: (msg) => b.publish(msg),
    adopt: (clientid, deadNode) => b.adoptSession(clientid, deadNode),
    full(clientid, reason) {
      b.metrics.inc(M_DROPPED_QUEUE_FULL);
      b.metrics.inc(M_DROPPED);
      b.alarms.activate(STORE_FULL_ALARM, { clientid, reason }, 'the durable session store refuses messages: its limits are reached');
    },
    accepting() {
      b.alarms.deactivate(STORE_FULL_ALARM);
    },
  };
}

/**
 * Durable sessions for a node, per STARLING_DURABLE_SESSIONS: on JetStream in a cluster, in
 * memory standalone when asked for, none when off. `auto` in a cluster whose NATS server has
 * no JetStream runs without them, with a warning (an existing NATS deployment keeps working);
 * `on` refuses to start then.
 */
export async function startDurableSessions(b: Broker, isLive: (node: string) => boolean, cfg: Config, clustered: boolean, log: Logger): Promise<DurableSessions | undefined> {
  if (cfg.durableSessions === 'off' || (cfg.durableSessions === 'auto' && !clustered)) return undefined;
  const perSession = cfg.maxMqueue > 0 ? cfg.maxMqueue + (cfg.maxInflight || 65535) : 0;
  const store = clustered
    ? new JetStreamSessionStore({ url: cfg.natsUrl!, name: cfg.nodeName, log, replicas: cfg.durableReplicas, maxBytes: cfg.durableMaxBytes, maxMessages: cfg.durableMaxMsgs, perSession })
    : new MemorySessionStore({ perSession, maxMessages: cfg.durableMaxMsgs });
  const durable = new DurableSessions(store, durableHost(b, isLive, log), cfg.durableSweepMs);
  // a JetStream cluster electing its leaders answers late: retried; a server without JetStream says so at once
  for (let attempt = 1; ; attempt++) {
    try {
      await durable.start();
      break;
    } catch (err) {
      await durable.store.close().catch(() => {});
      const noJetStream = /not enabled|no responders/i.test((err as Error).message);
      if (!noJetStream && attempt < START_ATTEMPTS) {
        log.warn({ err: (err as Error).message, attempt }, 'durable session store not ready; retrying');
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (cfg.durableSessions === 'on') throw err;
      log.warn({ err: (err as Error).message }, 'durable sessions off: the NATS server has no JetStream (run nats-server -js)');
      return undefined;
    }
  }
  log.info({ store: clustered ? 'jetstream' : 'memory', replicas: clustered ? cfg.durableReplicas : undefined }, 'durable sessions on');
  return durable;
}
