/** Opening and closing one MQTT.js client of the population, without throwing. */
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A connected client, or undefined when the CONNECT failed (refused, timed out, closed).
 * `setup` runs before the CONNECT goes out: a resumed session's queued messages come right
 * after the CONNACK, so the message handler must already be there.
 */
export function openClient(port: number, opts: IClientOptions, setup?: (c: MqttClient) => void): Promise<MqttClient | undefined> {
  return new Promise((resolve) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: CONNECT_TIMEOUT_MS, keepalive: 60, ...opts });
    setup?.(c);
    const fail = () => {
      c.removeAllListeners('connect');
      c.end(true);
      resolve(undefined);
    };
    c.once('connect', () => {
      c.removeListener('error', fail);
      c.removeListener('close', fail);
      // an error after the CONNECT (a refused SUBSCRIBE, a reset) must not throw
      c.on('error', () => {});
      resolve(c);
    });
    c.once('error', fail);
    c.once('close', fail);
  });
}

/**
 * Closes a client: gracefully (DISCONNECT, waits for its in-flight publishes) or abruptly
 * (the socket dropped, as a crashed client: its will is published).
 */
export function closeClient(c: MqttClient, abrupt: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (abrupt || !c.connected) {
      c.end(true, {}, () => resolve());
      return;
    }
    const timer = setTimeout(() => c.end(true, {}, () => resolve()), 5_000);
    c.end(false, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Subscribes; false when refused or closed first. */
export function subscribe(c: MqttClient, filter: string, qos: 0 | 1 | 2): Promise<boolean> {
  return new Promise((resolve) => {
    c.subscribe(filter, { qos }, (err, granted) => resolve(!err && (granted?.[0]?.qos ?? 128) < 128));
  });
}
