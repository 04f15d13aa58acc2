import type { Config } from '../../shared/config.js';
import type { Listener } from '../listeners/listener.js';
import type { Connection } from '../protocol/connection.js';
import { RC } from '../protocol/reason-codes.js';
import { metricIndex } from '../metrics/metrics.js';

const M_QOS2_EXPIRED = metricIndex('messages.qos2.expired');

/**
 * Once a second: keepalive [MQTT-3.1.2-24], send timeout, CONNECT idle timeout, MQTT 3.x
 * retries, QoS 2 await-rel expiry and the connection rate limits' bookkeeping, in one
 * pass instead of a timer per connection.
 */
export function sweep(cfg: Config, connections: Iterable<Connection>, listeners: readonly Listener[], now: number): void {
  for (const conn of connections) {
    const info = conn.info!;
    // a client whose reading is paused by the publish rate limit is not silent: its PINGREQs wait unread
    if (info.keepalive > 0 && !conn.rateLimited && now - conn.lastRecv > info.keepalive * 1000 * cfg.keepaliveBackoff) {
      conn.sendDisconnect(RC.KEEP_ALIVE_TIMEOUT);
      conn.close('keepalive_timeout');
      continue;
    }
    if (cfg.sendTimeoutMs > 0 && conn.sendTimedOut(now, cfg.sendTimeoutMs)) {
      conn.close('send_timeout');
      continue;
    }
    const s = conn.session!;
    if (cfg.retryIntervalMs > 0 && conn.version < 5 && s.inflight.size > 0) s.retry(now, cfg.retryIntervalMs);
    if (s.awaitingRel.size > 0) {
      for (const [id, at] of s.awaitingRel) {
        if (now - at <= cfg.awaitRelTimeoutMs) continue;
        s.deleteAwaitingRel(id);
        conn.broker.metrics.inc(M_QOS2_EXPIRED);
      }
    }
  }
  for (const l of listeners) {
    for (const conn of l.unconnected) if (now - conn.openedAt > cfg.idleTimeoutMs) conn.close('idle_timeout');
    l.prune(now);
  }
}
