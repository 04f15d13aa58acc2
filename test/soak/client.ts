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

/**
 * Runs `send` (a SUBSCRIBE or UNSUBSCRIBE and its callback), or answers `closed` at once when
 * the connection is gone or goes first: MQTT.js queues a packet for a closed client and, as it
 * never reconnects (reconnectPeriod 0), never calls back (a node killed meanwhile).
 */
function whileConnected<T>(c: MqttClient, closed: T, send: (done: (v: T) => void) => void): Promise<T> {
  return new Promise((resolve) => {
    if (!c.connected) return resolve(closed);
    const onClose = () => resolve(closed);
    c.once('close', onClose);
    send((v) => {
      c.removeListener('close', onClose);
      resolve(v);
    });
  });
}

/** Subscribes; false when refused or closed first. */
export function subscribe(c: MqttClient, filter: string, qos: 0 | 1 | 2): Promise<boolean> {
  return whileConnected(c, false, (done) => c.subscribe(filter, { qos }, (err, granted) => done(!err && (granted?.[0]?.qos ?? 128) < 128)));
}

/** Publishes and waits for its acknowledgement; false when refused or closed first. */
export function publishAcked(c: MqttClient, topic: string, payload: string, opts: { qos: 1 | 2; retain?: boolean }): Promise<boolean> {
  return whileConnected(c, false, (done) => c.publish(topic, payload, opts, (err) => done(!err)));
}

/** Unsubscribes; false when closed first. */
export function unsubscribe(c: MqttClient, filter: string): Promise<boolean> {
  return whileConnected(c, false, (done) => c.unsubscribe(filter, (err) => done(!err)));
}
