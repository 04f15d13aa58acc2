/**
 * Real MQTT clients for end-to-end tests: promise wrappers around MQTT.js, a raw TCP client
 * built on mqtt-packet (for what MQTT.js will not do: skip acknowledgements, stop pinging,
 * send invalid packets), and mosquitto_pub / mosquitto_sub as child processes.
 *
 * Every client opened here is remembered until closed; `closeAllClients()` in a file's
 * `after` hook is the safety net behind per-test `t.after` cleanup.
 */
import { connect as netConnect, type Socket } from 'node:net';
import mqtt from 'mqtt';
import type { IClientOptions, IClientPublishOptions, IClientSubscribeOptions, IConnackPacket, IDisconnectPacket, IPublishPacket, ISubscriptionGrant, MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';
import { findBinary } from './services.js';
import { spawnProcess, type ManagedProcess } from './processes.js';
export { sleep } from './wait.js';

export type QoS = 0 | 1 | 2;

/** Anything with node:test's `after` (a TestContext); cleanup is registered on it. */
export interface Scope {
  after(fn: () => unknown): void;
}

/** One PUBLISH a client received. */
export interface Received {
  topic: string;
  payload: string;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  messageId: number | undefined;
  packet: IPublishPacket;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** Topics of barrier round trips; never recorded as received messages. */
const BARRIER_PREFIX = 'starling-test/barrier/';

const openClients = new Set<{ destroy(): Promise<void> }>();

/** Closes every client of this module still open (a file's `after` safety net). */
export async function closeAllClients(): Promise<void> {
  await Promise.all([...openClients].map((c) => c.destroy()));
}


/** `p`, or a rejection naming `what` after `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

let uniq = 0;
/** A short id unique within this test process (for clientIds and topics). */
export function uid(prefix = 't'): string {
  return `${prefix}-${process.pid.toString(36)}-${(++uniq).toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

export function tcpUrl(port: number): string {
  return `mqtt://127.0.0.1:${port}`;
}

export function wsUrl(port: number, path = '/mqtt'): string {
  return `ws://127.0.0.1:${port}${path}`;
}

function describe(list: Received[]): string {
  return list.length === 0 ? '(none)' : list.map((m) => `${m.topic}=${JSON.stringify(m.payload)}/q${m.qos}${m.retain ? '/r' : ''}${m.dup ? '/dup' : ''}`).join(', ');
}

export type MessageFilter = string | RegExp | ((m: Received) => boolean);

function matchesFilter(f: MessageFilter | undefined, m: Received): boolean {
  if (f === undefined) return true;
  if (typeof f === 'string') return m.topic === f;
  if (f instanceof RegExp) return f.test(m.topic);
  return f(m);
}

/** An MQTT.js client that records every message it receives from the moment it is created. */
export class TestClient {
  readonly received: Received[] = [];
  readonly errors: Error[] = [];
  /** DISCONNECT packets from the server (MQTT 5) */
  readonly disconnects: IDisconnectPacket[] = [];
  connack: IConnackPacket | undefined;
  closed = false;
  private readonly listeners = new Set<() => void>();
  private barrierSubscribed = false;
  private barrierSeq = 0;
  private readonly barriersSeen = new Set<string>();

  constructor(
    readonly client: MqttClient,
    readonly label: string,
  ) {
    client.on('message', (topic, payload, packet) => {
      if (topic.startsWith(BARRIER_PREFIX)) this.barriersSeen.add(`${topic}|${payload.toString()}`);
      else {
        this.received.push({
          topic,
          payload: payload.toString(),
          qos: packet.qos as QoS,
          retain: packet.retain,
          dup: packet.dup,
          messageId: packet.messageId,
          packet,
        });
      }
      this.notify();
    });
    client.on('error', (err) => {
      this.errors.push(err);
      this.notify();
    });
    client.on('disconnect', (p) => {
      this.disconnects.push(p);
      this.notify();
    });
    client.on('close', () => {
      this.closed = true;
      this.notify();
    });
    openClients.add(this);
  }

  get clientId(): string {
    return this.client.options.clientId!;
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves once `check` returns a value other than undefined (re-checked on every client event). */
  private until<T>(check: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(onEvent);
      };
      const onEvent = () => {
        const v = check();
        if (v !== undefined) {
          done();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for ${what()}`));
      }, timeoutMs);
      this.listeners.add(onEvent);
    });
  }

  /** Messages received so far (optionally only those matching `filter`). */
  messages(filter?: MessageFilter): Received[] {
    return this.received.filter((m) => matchesFilter(filter, m));
  }

  /**
   * Resolves with the matching messages once there are at least `n` of them (counting from
   * index `from` of `received`); rejects on timeout with what did arrive.
   */
  waitForMessages(n: number, opts: { filter?: MessageFilter; timeoutMs?: number; from?: number } = {}): Promise<Received[]> {
    const from = opts.from ?? 0;
    const pick = () => this.received.slice(from).filter((m) => matchesFilter(opts.filter, m));
    return this.until(
      () => {
        const got = pick();
        return got.length >= n ? got : undefined;
      },
      opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      () => `${n} message(s) matching ${String(opts.filter ?? 'anything')}; got ${describe(pick())}`,
    );
  }

  /** The first message (from index `from` on) matching `filter`. */
  async waitForMessage(filter: MessageFilter, opts: { timeoutMs?: number; from?: number } = {}): Promise<Received> {
    const [m] = await this.waitForMessages(1, { ...opts, filter });
    return m!;
  }

  /** Index to pass as `from` to only consider messages received after now. */
  mark(): number {
    return this.received.length;
  }

  async subscribe(topic: string | string[] | Record<string, IClientSubscribeOptions>, opts: Partial<IClientSubscribeOptions> = { qos: 0 }): Promise<ISubscriptionGrant[]> {
    return withTimeout(
      this.client.subscribeAsync(topic as string, opts as IClientSubscribeOptions),
      DEFAULT_TIMEOUT_MS,
      `${this.label}: SUBACK for ${JSON.stringify(topic)}`,
    );
  }

  async unsubscribe(topic: string | string[]): Promise<void> {
    await withTimeout(this.client.unsubscribeAsync(topic), DEFAULT_TIMEOUT_MS, `${this.label}: UNSUBACK`);
  }

  /** Publishes; QoS 1/2 resolve on PUBACK / PUBCOMP, QoS 0 once written. */
  async publish(topic: string, payload: string | Buffer, opts: IClientPublishOptions = {}): Promise<void> {
    await withTimeout(this.client.publishAsync(topic, payload, opts), DEFAULT_TIMEOUT_MS, `${this.label}: publish to ${topic}`);
  }

  /**
   * A round trip through the broker on this connection: publish QoS 1 to a topic only this
   * client subscribes to and wait for it to come back. The broker handles a connection's
   * packets in order and writes to it in order (QoS 1 does not overtake queued messages),
   * so everything this client sent before has been processed and everything the broker
   * sent it before has arrived once this resolves. It is how tests show that a message
   * did NOT arrive without sleeping.
   */
  async barrier(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    const base = `${BARRIER_PREFIX}${this.clientId}`;
    if (!this.barrierSubscribed) {
      await this.subscribe(`${base}/#`, { qos: 1 });
      this.barrierSubscribed = true;
    }
    const key = `${base}/b|${++this.barrierSeq}`;
    await this.publish(`${base}/b`, String(this.barrierSeq), { qos: 1 });
    await this.until(() => (this.barriersSeen.has(key) ? true : undefined), timeoutMs, () => `barrier ${key}`);
  }

  /** Resolves when the connection has closed (for whatever reason). */
  async waitClose(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await this.until(() => (this.closed ? true : undefined), timeoutMs, () => 'close');
  }

  /** Resolves with the first DISCONNECT packet from the server (MQTT 5). */
  async waitDisconnect(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<IDisconnectPacket> {
    return this.until(() => this.disconnects[0], timeoutMs, () => 'DISCONNECT from server');
  }

  /** A clean close: DISCONNECT, then the socket closes. */
  async end(): Promise<void> {
    if (this.closed && this.client.disconnected) return void openClients.delete(this);
    await withTimeout(this.client.endAsync(false), DEFAULT_TIMEOUT_MS, `${this.label}: end`);
    openClients.delete(this);
  }

  /** Drops the connection without DISCONNECT (the will is published). */
  async destroy(): Promise<void> {
    openClients.delete(this);
    if (this.client.disconnected && this.closed) return;
    // bounded, so a cleanup hook can never hang a test file
    await withTimeout(new Promise<void>((resolve) => this.client.end(true, {}, () => resolve())), 2000, `${this.label}: destroy`).catch(() => {});
  }
}

export interface ConnectOptions extends IClientOptions {
  /** for error messages (default: the clientId) */
  label?: string;
  timeoutMs?: number;
  /** called before CONNACK can arrive: what a resumed session is owed comes right behind it */
  onConnecting?: (c: MqttClient) => void;
}

/**
 * Connects an MQTT.js client (MQTT 3.1.1 unless `protocolVersion` says otherwise, never
 * reconnecting by itself) and resolves on CONNACK; rejects on an error or a close before it.
 * With `scope` (a TestContext), the client is destroyed after the test.
 */
export async function connectClient(url: string, opts: ConnectOptions = {}, scope?: Scope): Promise<TestClient> {
  const { label, timeoutMs = DEFAULT_TIMEOUT_MS, onConnecting, ...rest } = opts;
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: timeoutMs, ...rest });
  onConnecting?.(client);
  const tc = new TestClient(client, label ?? opts.clientId ?? url);
  if (scope) scope.after(() => tc.destroy());
  try {
    tc.connack = await withTimeout(
      new Promise<IConnackPacket>((resolve, reject) => {
        client.once('connect', (connack) => resolve(connack));
        client.once('error', reject);
        client.once('close', () => reject(new Error(`${tc.label}: connection closed before CONNACK`)));
      }),
      timeoutMs,
      `${tc.label}: CONNACK from ${url}`,
    );
  } catch (err) {
    await tc.destroy();
    throw err;
  }
  return tc;
}

// ---------------------------------------------------------------- raw MQTT over TCP

/**
 * A bare MQTT 3.1.1 client on a TCP socket: it sends exactly the packets a test builds
 * (mqtt-packet's generate) and records every packet the server sends (mqtt-packet's parser).
 * Nothing is acknowledged or pinged automatically.
 */
export class RawClient {
  readonly packets: Packet[] = [];
  closed = false;
  private pingresps = 0;
  private consumed = 0;
  private readonly listeners = new Set<() => void>();

  private constructor(
    readonly socket: Socket,
    readonly label: string,
    protocolVersion: 3 | 4 | 5,
  ) {
    const parser = mqttPacket.parser({ protocolVersion });
    parser.on('packet', (p: Packet) => {
      // PINGRESPs are only counted (see ping()), so next() sees the interesting packets
      if (p.cmd === 'pingresp') this.pingresps++;
      else this.packets.push(p);
      this.notify();
    });
    parser.on('error', (err: Error) => {
      this.packets.push({ cmd: 'parse-error', error: err } as unknown as Packet);
      this.notify();
    });
    socket.on('data', (d) => parser.parse(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    openClients.add(this);
  }

  /** Opens a TCP connection (no MQTT traffic yet). */
  static open(port: number, label = 'raw', protocolVersion: 3 | 4 | 5 = 4): Promise<RawClient> {
    return withTimeout(
      new Promise<RawClient>((resolve, reject) => {
        const s = netConnect({ host: '127.0.0.1', port });
        s.once('error', reject);
        s.once('connect', () => {
          s.off('error', reject);
          resolve(new RawClient(s, label, protocolVersion));
        });
      }),
      DEFAULT_TIMEOUT_MS,
      `${label}: TCP connect to 127.0.0.1:${port}`,
    );
  }

  /** Opens a connection, sends CONNECT (3.1.1 unless given) and resolves with the CONNACK. */
  static async connect(port: number, connect: Partial<mqttPacket.IConnectPacket> & { clientId: string }, scope?: Scope): Promise<{ raw: RawClient; connack: mqttPacket.IConnackPacket }> {
    const version = (connect.protocolVersion ?? 4) as 3 | 4 | 5;
    const raw = await RawClient.open(port, connect.clientId, version);
    if (scope) scope.after(() => raw.destroy());
    raw.send({ cmd: 'connect', protocolId: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean: true, keepalive: 60, ...connect });
    const connack = (await raw.next('connack')) as mqttPacket.IConnackPacket;
    return { raw, connack };
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  send(p: Packet): void {
    this.socket.write(mqttPacket.generate(p));
  }

  /**
   * The next packet not yet taken by an earlier next() call, if it is of type `cmd` (or matches
   * `pred`); packets are taken in arrival order, so an unexpected packet in between is an error.
   */
  next(cmd: Packet['cmd'], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Packet> {
    return new Promise<Packet>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      const check = () => {
        if (this.consumed < this.packets.length) {
          const p = this.packets[this.consumed++]!;
          done();
          if (p.cmd === cmd) resolve(p);
          else reject(new Error(`${this.label}: expected ${cmd}, got ${JSON.stringify(p)}`));
        } else if (this.closed) {
          done();
          reject(new Error(`${this.label}: connection closed while waiting for ${cmd}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: no ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** Packets received and not yet taken by next(). */
  unread(): Packet[] {
    return this.packets.slice(this.consumed);
  }

  /** PINGREQ → PINGRESP: everything the server sent before the PINGRESP has arrived. */
  async ping(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    const want = this.pingresps + 1;
    this.send({ cmd: 'pingreq' });
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      const check = () => {
        if (this.pingresps >= want) {
          done();
          resolve();
        } else if (this.closed) {
          done();
          reject(new Error(`${this.label}: closed while waiting for PINGRESP`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: no PINGRESP within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** Resolves when the server has closed the connection. */
  waitClose(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      const check = () => {
        if (this.closed) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: connection still open after ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(check);
    });
  }

  /** Sends DISCONNECT and closes. */
  async disconnect(): Promise<void> {
    if (!this.closed) {
      this.send({ cmd: 'disconnect' });
      this.socket.end();
    }
    await this.waitClose().catch(() => this.socket.destroy());
    openClients.delete(this);
  }

  async destroy(): Promise<void> {
    openClients.delete(this);
    if (this.closed) return;
    this.socket.destroy();
    await this.waitClose().catch(() => {});
  }
}

// ---------------------------------------------------------------- mosquitto clients

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr lines */
  lines: string[];
}

/** Runs `mosquitto_pub` with `args` against 127.0.0.1:port; rejects on timeout (killed) or a non-zero exit. */
export async function mosquittoPub(port: number, args: string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RunResult> {
  const proc = await spawnProcess({ name: 'mosquitto_pub', cmd: findBinary('mosquitto_pub', 'mosquitto-clients'), args: ['-h', '127.0.0.1', '-p', String(port), ...args] });
  let status;
  try {
    status = await withTimeout(proc.exited, timeoutMs, `mosquitto_pub ${args.join(' ')}`);
  } catch (err) {
    await proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}; output:\n${proc.tail()}`);
  }
  if (status.code !== 0) throw new Error(`mosquitto_pub ${args.join(' ')} exited ${status.code ?? status.signal}; output:\n${proc.tail()}`);
  return { ...status, lines: [...proc.lines] };
}

/** One message mosquitto_sub printed. */
export interface SubMessage {
  topic: string;
  qos: number;
  retain: boolean;
  payload: string;
}

const SUB_MARK = 'MSG\t';

export interface MosquittoSub {
  readonly proc: ManagedProcess;
  messages(): SubMessage[];
  /** Resolves with the messages once `n` have been printed. */
  waitForMessages(n: number, timeoutMs?: number): Promise<SubMessage[]>;
  stop(): Promise<void>;
}

/**
 * Starts `mosquitto_sub` with `args` (give -t, -q, -V ...) against 127.0.0.1:port and resolves
 * once it has its SUBACK (seen through -d), so publishing right after reaches it.
 */
export async function mosquittoSub(port: number, args: string[], scope?: Scope, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<MosquittoSub> {
  const proc = await spawnProcess({
    name: 'mosquitto_sub',
    // stdout is a pipe, which stdio would buffer fully: stdbuf makes it line-buffered
    cmd: findBinary('stdbuf', 'coreutils'),
    // -F: one tab-separated line per message, recognisable among the -d debug lines
    args: ['-oL', findBinary('mosquitto_sub', 'mosquitto-clients'), '-h', '127.0.0.1', '-p', String(port), '-d', '-F', `${SUB_MARK}%t\t%q\t%r\t%p`, ...args],
    readyLine: /received SUBACK/,
    timeoutMs,
  });
  if (scope) scope.after(() => proc.kill('SIGKILL'));
  const parse = (): SubMessage[] =>
    proc.lines
      .filter((l) => l.startsWith(SUB_MARK))
      .map((l) => {
        const [topic, qos, retain, ...payload] = l.slice(SUB_MARK.length).split('\t');
        return { topic: topic!, qos: Number(qos), retain: retain === '1', payload: payload.join('\t') };
      });
  return {
    proc,
    messages: parse,
    async waitForMessages(n, waitMs = DEFAULT_TIMEOUT_MS) {
      // waitForLine runs the predicate over the lines already printed, then over new ones
      let seen = 0;
      await proc.waitForLine((l) => l.startsWith(SUB_MARK) && ++seen >= n, waitMs);
      return parse();
    },
    stop: () => proc.kill('SIGTERM', 2000),
  };
}

// ---------------------------------------------------------------- presence events

/**
 * A client subscribed to a node's `$SYS/brokers/<node>/clients/+/{connected,disconnected}`
 * events. The broker publishes `disconnected` while it handles the close, before a will and
 * before anything else happens to the session, so waiting for it tells a test that the
 * broker is done with a connection.
 */
export class PresenceWatcher {
  private constructor(
    readonly client: TestClient,
    readonly nodeName: string,
  ) {}

  static async start(port: number, nodeName: string): Promise<PresenceWatcher> {
    const client = await connectClient(tcpUrl(port), { clientId: uid('presence') });
    await client.subscribe([`$SYS/brokers/${nodeName}/clients/+/connected`, `$SYS/brokers/${nodeName}/clients/+/disconnected`], { qos: 0 });
    return new PresenceWatcher(client, nodeName);
  }

  /** Pass as `from` to only consider events after now. */
  mark(): number {
    return this.client.mark();
  }

  async event(clientId: string, event: 'connected' | 'disconnected', opts: { from?: number; timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
    const m = await this.client.waitForMessage(`$SYS/brokers/${this.nodeName}/clients/${clientId}/${event}`, opts);
    return JSON.parse(m.payload) as Record<string, unknown>;
  }

  disconnected(clientId: string, opts: { from?: number; timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
    return this.event(clientId, 'disconnected', opts);
  }

  connected(clientId: string, opts: { from?: number; timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
    return this.event(clientId, 'connected', opts);
  }
}
