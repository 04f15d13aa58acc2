// Small MQTT client helpers for end-to-end tests: an MQTT.js wrapper that records what it
// receives and can prove that nothing else is on its way (a barrier), and a raw client on a
// plain socket that sends and receives exact packets (mqtt-packet), for what MQTT.js cannot
// or will not send, and for reason codes MQTT.js turns into errors.
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as mqttConnect, type IClientOptions, type IClientPublishOptions, type IClientSubscribeOptions, type MqttClient } from 'mqtt';
import * as mqttPacket from 'mqtt-packet';
import type { IConnackPacket, IConnectPacket, IPublishPacket, Packet } from 'mqtt-packet';
export { sleep } from './wait.js';

export const HOST = '127.0.0.1';
const DEFAULT_WAIT_MS = 5_000;

/** Where a client registers its cleanup: node:test's TestContext (t.after) or a suite hook. */
export interface Scope {
  after(fn: () => unknown): void;
}

/** A short random name part, so concurrent tests never share topics or client ids. */
export function uid(bytes = 3): string {
  return randomBytes(bytes).toString('hex');
}


/** Rejects with `what` if `p` does not settle within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves when `check` returns a value other than undefined; `check` runs now and again
 * each time `wakers` are woken (a packet arrived, the connection closed). Rejects after `ms`.
 */
function waitFor<T>(wakers: Set<() => void>, check: () => T | undefined, ms: number, what: string): Promise<T> {
  let step: (() => void) | undefined;
  return within(
    new Promise<T>((resolve, reject) => {
      step = (): void => {
        let v: T | undefined;
        try {
          v = check();
        } catch (err) {
          return reject(err);
        }
        if (v !== undefined) return resolve(v);
        wakers.add(step!);
      };
      step();
    }),
    ms,
    what,
  ).finally(() => wakers.delete(step!));
}

function wakeAll(wakers: Set<() => void>): void {
  const all = [...wakers];
  wakers.clear();
  for (const w of all) w();
}

export interface Received {
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

/**
 * An MQTT.js client (MQTT 5 unless told otherwise) that never reconnects and records every
 * application message it receives, from the moment it is created (so messages a resumed
 * session sends right after CONNACK are not missed).
 */
export class TestClient {
  readonly inbox: Received[] = [];
  readonly errors: Error[] = [];
  /** raw packets as MQTT.js received them (copied before MQTT.js resolves topic aliases) */
  readonly packets: Packet[] = [];
  connack: IConnackPacket | undefined;
  readonly connected: Promise<IConnackPacket>;
  readonly closed: Promise<void>;
  isClosed = false;
  private readonly wakers = new Set<() => void>();
  private syncTopic: string | undefined;

  constructor(readonly mqtt: MqttClient) {
    mqtt.on('error', (err) => this.errors.push(err));
    mqtt.on('packetreceive', (p) => {
      this.packets.push(snapshot(p));
      this.notify();
    });
    mqtt.on('message', (topic, payload, packet) => {
      this.inbox.push({ topic, payload: payload.toString(), packet });
      this.notify();
    });
    this.closed = new Promise((resolve) =>
      mqtt.once('close', () => {
        this.isClosed = true;
        this.notify();
        resolve();
      }),
    );
    this.connected = new Promise((resolve, reject) => {
      mqtt.once('connect', (connack) => {
        this.connack = connack;
        resolve(connack);
      });
      mqtt.once('error', reject);
      void this.closed.then(() => reject(new Error(`${this.id}: connection closed before CONNACK`)));
    });
    this.connected.catch(() => {}); // observed by whoever awaits it
  }

  get id(): string {
    return this.mqtt.options.clientId ?? '';
  }

  private notify(): void {
    wakeAll(this.wakers);
  }

  /** Resolves when `check` returns a value (re-checked on every packet), rejects after `ms`. */
  waitUntil<T>(check: () => T | undefined, ms: number, what: string): Promise<T> {
    return waitFor(this.wakers, check, ms, `${this.id}: ${what}`);
  }

  /** The next application message (consumed from the inbox). */
  async next(ms = DEFAULT_WAIT_MS): Promise<Received> {
    await this.waitUntil(() => (this.inbox.length > 0 ? true : undefined), ms, 'waiting for a message');
    return this.inbox.shift()!;
  }

  /** The next `n` application messages. */
  async take(n: number, ms = DEFAULT_WAIT_MS): Promise<Received[]> {
    await this.waitUntil(() => (this.inbox.length >= n ? true : undefined), ms, `waiting for ${n} messages (have ${this.inbox.length})`);
    return this.inbox.splice(0, n);
  }

  /**
   * Barrier: publishes to a topic only this client subscribes to and waits for it to come
   * back. The broker sends a client's packets in order, so every message it had already
   * routed to this client has arrived by then. Returns (and consumes) those messages.
   */
  async settle(ms = DEFAULT_WAIT_MS): Promise<Received[]> {
    if (!this.syncTopic) {
      const topic = `sync/${this.id}`;
      const [grant] = await this.mqtt.subscribeAsync(topic, { qos: 0 });
      if (!grant || grant.qos >= 0x80) throw new Error(`${this.id}: barrier subscription refused: ${JSON.stringify(grant)}`);
      this.syncTopic = topic;
    }
    const token = uid(6);
    await this.mqtt.publishAsync(this.syncTopic, token, { qos: 0 });
    const at = await this.waitUntil(
      () => {
        const i = this.inbox.findIndex((m) => m.topic === this.syncTopic && m.payload === token);
        return i >= 0 ? i : undefined;
      },
      ms,
      'waiting for the barrier message',
    );
    const before = this.inbox.splice(0, at + 1);
    before.pop();
    return before.filter((m) => m.topic !== this.syncTopic);
  }

  subscribe(filter: string | string[], opts: IClientSubscribeOptions = { qos: 0 }) {
    return this.mqtt.subscribeAsync(filter, opts);
  }

  publish(topic: string, payload: string | Buffer, opts: IClientPublishOptions = {}) {
    return this.mqtt.publishAsync(topic, payload, opts);
  }

  /**
   * Publishes QoS 1 or 2 and returns the reason code of the broker's PUBACK / PUBREC
   * (0 when it has none). MQTT.js turns error codes into a rejection and hides the ack
   * for the others; the packets as received tell.
   */
  async publishRc(topic: string, payload: string | Buffer, opts: IClientPublishOptions & { qos: 1 | 2 }): Promise<number> {
    let sent: Packet | undefined;
    try {
      sent = await this.mqtt.publishAsync(topic, payload, opts);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') return code;
      throw err;
    }
    const id = (sent as IPublishPacket | undefined)?.messageId;
    for (let i = this.packets.length - 1; i >= 0; i--) {
      const p = this.packets[i]!;
      if ((p.cmd === 'puback' || p.cmd === 'pubrec') && p.messageId === id) return p.reasonCode ?? 0;
    }
    throw new Error(`${this.id}: no PUBACK/PUBREC for message id ${id}`);
  }

  /** A clean MQTT DISCONNECT (the will is discarded), with DISCONNECT properties if given. */
  async disconnect(properties?: { sessionExpiryInterval?: number }): Promise<void> {
    if (this.isClosed) return;
    await (properties ? this.mqtt.endAsync(false, { properties }) : this.mqtt.endAsync());
    await this.closed;
  }

  /** Cuts the connection without DISCONNECT (as a crash would: the will is published). */
  async drop(): Promise<void> {
    if (this.isClosed) return;
    this.mqtt.end(true);
    await this.closed;
  }
}

/** MQTT.js reuses and mutates packet objects; keep the fields tests look at as received. */
function snapshot(p: Packet): Packet {
  const copy = { ...p } as Packet & { properties?: Record<string, unknown> };
  if (copy.properties) copy.properties = { ...copy.properties };
  return copy;
}

/**
 * Connects an MQTT.js client (MQTT 5 by default, no reconnects) and resolves once CONNACK
 * accepted it. The client is force-closed when `scope` ends, pass or fail.
 */
export async function openClient(scope: Scope, port: number, opts: IClientOptions = {}): Promise<TestClient> {
  const tc = newClient(scope, port, opts);
  await within(tc.connected, DEFAULT_WAIT_MS, `connecting ${tc.id}`);
  return tc;
}

/** Like openClient, without waiting for CONNACK (attach to `connected` yourself). */
export function newClient(scope: Scope, port: number, opts: IClientOptions = {}): TestClient {
  const mqtt = mqttConnect({
    host: HOST,
    port,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: DEFAULT_WAIT_MS,
    clientId: opts.clientId ?? `c-${uid(4)}`,
    ...opts,
  });
  const tc = new TestClient(mqtt);
  scope.after(() => {
    if (!tc.isClosed) mqtt.end(true);
  });
  return tc;
}

type Cmd = Packet['cmd'];
export type PacketOf<C extends Cmd> = Extract<Packet, { cmd: C }>;

/**
 * A client on a plain TCP socket: sends exactly the packets (or bytes) it is given and
 * parses what comes back with mqtt-packet. Packets wait in `queue` until consumed.
 */
export class RawClient {
  /** received packets not consumed yet, oldest first */
  readonly queue: Packet[] = [];
  /** every packet received */
  readonly received: Packet[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  closedAt = 0;
  parseError: Error | undefined;
  private readonly wakers = new Set<() => void>();
  private readonly parser: mqttPacket.Parser;

  private constructor(
    readonly socket: Socket,
    public version: 3 | 4 | 5,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: Packet) => {
      this.queue.push(p);
      this.received.push(p);
      this.notify();
    });
    this.parser.on('error', (err: Error) => {
      this.parseError = err;
      this.notify();
    });
    socket.on('data', (d: Buffer) => this.parser.parse(d));
    socket.on('error', () => {}); // a reset shows as a close
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.closedAt = Date.now();
        this.notify();
        resolve();
      }),
    );
  }

  /** Opens a TCP connection (no MQTT yet); it is destroyed when `scope` ends. */
  static async open(scope: Scope, port: number, version: 3 | 4 | 5 = 5): Promise<RawClient> {
    const socket = tcpConnect({ host: HOST, port });
    const raw = new RawClient(socket, version);
    scope.after(() => socket.destroy());
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      }),
      DEFAULT_WAIT_MS,
      `TCP connect to ${HOST}:${port}`,
    );
    return raw;
  }

  /** Opens a connection and completes CONNECT; fails unless the CONNACK accepts. */
  static async connected(scope: Scope, port: number, fields: Partial<IConnectPacket> & { protocolVersion?: 3 | 4 | 5 } = {}): Promise<RawClient> {
    const raw = await RawClient.open(scope, port, fields.protocolVersion ?? 5);
    const ack = await raw.connect(fields);
    const rc = raw.version === 5 ? ack.reasonCode : ack.returnCode;
    if (rc !== 0) throw new Error(`CONNECT of ${fields.clientId} refused: ${JSON.stringify(ack)}`);
    return raw;
  }

  private notify(): void {
    wakeAll(this.wakers);
  }

  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends CONNECT (clean start, keepalive 0 unless given) and returns the CONNACK. */
  async connect(fields: Partial<IConnectPacket> = {}): Promise<IConnackPacket> {
    const version = fields.protocolVersion ?? this.version;
    this.version = version as 3 | 4 | 5;
    this.send({
      cmd: 'connect',
      protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: version,
      clean: true,
      keepalive: 0,
      clientId: `r-${uid(4)}`,
      ...fields,
    } as IConnectPacket);
    return this.expect('connack');
  }

  /** Resolves when `check` returns a value (re-checked on every packet and on close). */
  waitUntil<T>(check: () => T | undefined, ms: number, what: string): Promise<T> {
    return waitFor(this.wakers, check, ms, what);
  }

  /** The next packet; rejects if the connection closes first or nothing comes within `ms`. */
  async next(ms = DEFAULT_WAIT_MS): Promise<Packet> {
    const got = await this.waitUntil(
      () => (this.queue.length > 0 ? this.queue.shift() : this.isClosed || this.parseError ? null : undefined),
      ms,
      `waiting for a packet (received so far: ${this.received.map((p) => p.cmd).join(', ') || 'none'})`,
    );
    if (got === null) throw new Error(this.parseError ? `unparsable packet: ${this.parseError.message}` : 'connection closed while waiting for a packet');
    return got;
  }

  /** The next packet, which must be a `cmd`. */
  async expect<C extends Cmd>(cmd: C, ms = DEFAULT_WAIT_MS): Promise<PacketOf<C>> {
    const p = await this.next(ms);
    if (p.cmd !== cmd) throw new Error(`expected ${cmd}, got ${JSON.stringify(p)}`);
    return p as PacketOf<C>;
  }

  /**
   * Barrier: PINGREQ, then every packet up to the PINGRESP. The broker writes a client's
   * packets in order, so whatever it had queued for this client before reading the PINGREQ
   * is in the returned list (consumed).
   */
  async sync(ms = DEFAULT_WAIT_MS): Promise<Packet[]> {
    this.send({ cmd: 'pingreq' });
    const out: Packet[] = [];
    for (;;) {
      const p = await this.next(ms);
      if (p.cmd === 'pingresp') return out;
      out.push(p);
    }
  }

  /** Resolves once the broker has closed the connection; rejects after `ms`. */
  async waitClosed(ms = DEFAULT_WAIT_MS): Promise<void> {
    await within(this.closed, ms, 'waiting for the broker to close the connection');
  }

  async subscribe(subscriptions: { topic: string; qos: 0 | 1 | 2; nl?: boolean; rap?: boolean; rh?: number }[], messageId = 1, properties?: Record<string, unknown>): Promise<number[]> {
    this.send({ cmd: 'subscribe', messageId, subscriptions, ...(properties ? { properties } : {}) } as Packet);
    const ack = await this.expect('suback');
    if (ack.messageId !== messageId) throw new Error(`SUBACK for ${ack.messageId}, expected ${messageId}`);
    return ack.granted as number[];
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Payload of a PUBLISH as a string. */
export function text(p: Packet): string {
  const payload = (p as IPublishPacket).payload;
  return typeof payload === 'string' ? payload : Buffer.from(payload).toString();
}
