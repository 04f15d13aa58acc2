/**
 * The seeded client population and what each role does until the traffic stops: clients
 * connect to a random node, live a random while, leave (gracefully or by dropping the
 * socket) and come back, as production clients do.
 */
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient, Packet } from 'mqtt';
import { closeClient, openClient, publishAcked, subscribe, unsubscribe } from './client.js';
import type { Ledger, QoS } from './ledger.js';

/** Topics the publishers use: soak/<a>/<b>, a and b in 0..TOPIC_FANOUT-1. */
export const TOPIC_FANOUT = 10;
export const RETAINED_ROOT = 'soak-r';
export const WILL_ROOT = 'soak-will';

export interface TrafficStats {
  connects: number;
  connectFailures: number;
  abruptCloses: number;
  /** will messages owed (clients that dropped their socket) and those the watcher saw */
  willsExpected: number;
  willsSeen: number;
  /** wills of clients that disconnected gracefully: must be 0 */
  willsSpurious: number;
  /** retained QoS 1 publishes attempted */
  retainedPublishes: number;
  /** retained topic → the last value acknowledged, and every value attempted after it */
  retained: Map<string, { acked?: string; later: Set<string> }>;
}

/** What every role shares: the nodes, the PRNG, the books and the stop signal. */
export class Traffic {
  readonly stats: TrafficStats = { connects: 0, connectFailures: 0, abruptCloses: 0, willsExpected: 0, willsSeen: 0, willsSpurious: 0, retainedPublishes: 0, retained: new Map() };
  stopped = false;
  private wake!: () => void;
  readonly stopping = new Promise<void>((r) => (this.wake = r));
  private readonly gracefulWills = new Set<string>();

  constructor(
    readonly ports: number[],
    readonly rand: () => number,
    readonly ledger: Ledger,
    /** ms between two publishes of one publisher */
    readonly publishEveryMs: number,
    /** the share of persistent subscribers' reconnections that go to a random node rather than their last one */
    readonly roam: number,
  ) {}

  stop(): void {
    this.stopped = true;
    this.wake();
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  /** An exponential random time with this mean, capped at three means. */
  randomMs(meanMs: number): number {
    return Math.min(3 * meanMs, -meanMs * Math.log(1 - this.rand()));
  }

  /** Sleeps, waking early when the traffic stops. */
  async pause(ms: number): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((r) => (t = setTimeout(r, ms))), this.stopping]);
    clearTimeout(t);
  }

  /** Connects to `port`, or to a random node. */
  async connect(opts: IClientOptions, setup?: (c: MqttClient) => void, port = this.pick(this.ports)): Promise<MqttClient | undefined> {
    const c = await openClient(port, opts, setup);
    if (c) this.stats.connects++;
    else this.stats.connectFailures++;
    return c;
  }

  async close(c: MqttClient, abruptShare: number): Promise<boolean> {
    const abrupt = this.rand() < abruptShare;
    if (abrupt) this.stats.abruptCloses++;
    await closeClient(c, abrupt);
    return abrupt;
  }

  randomTopic(): string {
    return `soak/${Math.floor(this.rand() * TOPIC_FANOUT)}/${Math.floor(this.rand() * TOPIC_FANOUT)}`;
  }

  /** Mostly exact filters, some with a wildcard level (one filter per subscriber: no overlaps). */
  randomFilter(): string {
    const r = this.rand();
    const a = Math.floor(this.rand() * TOPIC_FANOUT);
    if (r < 0.7) return `soak/${a}/${Math.floor(this.rand() * TOPIC_FANOUT)}`;
    return r < 0.9 ? `soak/${a}/+` : `soak/+/${a}`;
  }

  willWatched(payload: string): void {
    if (this.gracefulWills.has(payload)) this.stats.willsSpurious++;
    else this.stats.willsSeen++;
  }

  willClosed(payload: string, abrupt: boolean): void {
    if (abrupt) this.stats.willsExpected++;
    else this.gracefulWills.add(payload);
  }
}

const version = (t: Traffic): 4 | 5 => (t.rand() < 0.5 ? 4 : 5);
const LIFE_MS = 8_000;
const OFFLINE_MS = 2_000;

/** A persistent subscriber: its session (and its one subscription) lives across connections. */
export class PersistentSubscriber {
  /** kept across connections: a QoS 2 message received before a drop is released after it */
  readonly store = new mqtt.Store({ clean: false });
  readonly protocolVersion: 4 | 5;
  readonly filter: string;
  readonly qos: QoS;
  client: MqttClient | undefined;
  private port: number;
  /** connections and closes, `<ms> <event>`, to explain a missing message */
  readonly history: string[] = [];
  /** what came on the wire: message id → its PUBLISHes' packet identifiers, and the PUBRELs seen */
  private readonly wire = new Map<string, string[]>();
  private readonly pubrels = new Set<number>();

  private onWire(pk: Packet): void {
    if (pk.cmd === 'publish') {
      const id = pk.payload.toString();
      const seen = this.wire.get(id) ?? [];
      seen.push(`${pk.qos === 2 ? 'QoS 2 ' : ''}#${pk.messageId}${pk.dup ? ' dup' : ''}`);
      this.wire.set(id, seen);
    } else if (pk.cmd === 'pubrel' && pk.messageId !== undefined) {
      this.pubrels.add(pk.messageId);
    }
  }

  /** Whether a message reached this client's socket, for a missing one: the broker lost it, or the flow stopped halfway. */
  wireTrace(id: string): string {
    const seen = this.wire.get(id);
    if (!seen) return 'never sent to the client';
    return `sent as ${seen.join(', ')}; PUBREL for it ${seen.some((s) => this.pubrels.has(Number(/#(\d+)/.exec(s)?.[1]))) ? 'seen' : 'never seen'}`;
  }

  constructor(private readonly t: Traffic, readonly clientId: string) {
    this.port = t.pick(t.ports);
    this.protocolVersion = version(t);
    this.filter = t.randomFilter();
    this.qos = t.rand() < 0.5 ? 1 : 2;
  }

  /**
   * Connects (resuming the session); `clean` ends it instead. A CONNACK without Session
   * Present (the node could neither resume nor take it over, e.g. with NATS away) means the
   * session is gone: as a real client, it subscribes again (`<ms> fresh session` in its history).
   */
  async connect(clean = false): Promise<MqttClient | undefined> {
    const v5 = this.protocolVersion === 5;
    if (this.t.rand() < this.t.roam) this.port = this.t.pick(this.t.ports);
    this.history.push(`${Date.now()} connect :${this.port}${clean ? ' clean' : ''}`);
    let present = false;
    const c = await this.t.connect(
      { clientId: this.clientId, clean, protocolVersion: this.protocolVersion, incomingStore: this.store, ...(v5 ? { properties: { sessionExpiryInterval: clean ? 0 : 3600 } } : {}) },
      (c) => c.once('connect', (ack) => (present = ack.sessionPresent)).on('packetreceive', (pk) => this.onWire(pk)).on('message', (_topic, payload, packet) => this.t.ledger.deliveredPersistent(this.clientId, payload.toString(), packet.qos)),
      this.port,
    );
    if (c && !clean && !present && this.subscribed) {
      this.history.push(`${Date.now()} fresh session`);
      await subscribe(c, this.filter, this.qos);
    }
    return c;
  }

  /** set once the first subscription stands: later connections resume it */
  private subscribed = false;

  /** Before the traffic: the session and its subscription. */
  async setup(): Promise<boolean> {
    this.client = await this.connect();
    if (!this.client || !(await subscribe(this.client, this.filter, this.qos))) return false;
    this.t.ledger.subscribePersistent(this.clientId, this.filter, this.qos);
    this.subscribed = true;
    return true;
  }

  async run(): Promise<void> {
    for (;;) {
      if (this.client) {
        await this.t.pause(this.t.randomMs(LIFE_MS));
        const abrupt = await this.t.close(this.client, 0.3);
        this.history.push(`${Date.now()} closed${abrupt ? ' abruptly' : ''}`);
        this.client = undefined;
      }
      if (this.t.stopped) return;
      await this.t.pause(this.t.randomMs(OFFLINE_MS));
      if (this.t.stopped) return;
      this.client = await this.connect();
    }
  }
}

/** A clean-session client, connecting again and again until the traffic stops. */
async function churn(t: Traffic, clientId: string, opts: IClientOptions, abruptShare: number, live: (c: MqttClient) => Promise<void>, closed?: (abrupt: boolean) => void): Promise<void> {
  const protocolVersion = version(t);
  while (!t.stopped) {
    const c = await t.connect({ clientId, clean: true, protocolVersion, ...opts });
    if (c) {
      await live(c);
      const abrupt = await t.close(c, t.stopped ? 0 : abruptShare);
      closed?.(abrupt);
    }
    if (!t.stopped) await t.pause(t.randomMs(OFFLINE_MS));
  }
}

/** Subscribes to one filter on every connection; QoS 2 must not come twice to one connection. */
export function cleanSubscriber(t: Traffic, clientId: string): Promise<void> {
  const filter = t.randomFilter();
  const qos: QoS = t.pick([0, 1, 2] as const);
  return churn(t, clientId, {}, 0.3, async (c) => {
    const seen = new Set<string>();
    c.on('message', (_topic, payload, packet) => t.ledger.deliveredClean(clientId, seen, payload.toString(), packet.qos));
    if (await subscribe(c, filter, qos)) await t.pause(t.randomMs(LIFE_MS));
  });
}

/** A member of `$share/<group>/<filter>`. */
export function sharedMember(t: Traffic, clientId: string, group: string, filter: string): Promise<void> {
  return churn(t, clientId, {}, 0.3, async (c) => {
    c.on('message', (_topic, payload, packet) => t.ledger.deliveredShared(group, payload.toString(), packet.qos));
    if (await subscribe(c, `$share/${group}/${filter}`, 2)) await t.pause(t.randomMs(LIFE_MS));
  });
}

/** Publishes QoS 0/1/2 to random topics while connected; acknowledged QoS 1/2 go to the ledger. */
export function publisher(t: Traffic, clientId: string): Promise<void> {
  let seq = 0;
  return churn(t, clientId, {}, 0.2, async (c) => {
    const until = Date.now() + t.randomMs(LIFE_MS);
    while (!t.stopped && c.connected && Date.now() < until) {
      const topic = t.randomTopic();
      const qos: QoS = t.pick([0, 1, 2] as const);
      const id = `${clientId}.${seq++}`;
      t.ledger.published(qos);
      c.publish(topic, id, { qos }, (err, pkt) => {
        if (!err) t.ledger.ack(id, topic, qos, pkt && 'reasonCode' in pkt ? pkt.reasonCode : undefined);
      });
      await t.pause(t.publishEveryMs * (0.5 + t.rand()));
    }
  });
}

/** Owns one retained topic: publishes to it one at a time, so its last acknowledged value is known. */
export function retainer(t: Traffic, clientId: string, topic: string): Promise<void> {
  const book = { acked: undefined as string | undefined, later: new Set<string>() };
  t.stats.retained.set(topic, book);
  let seq = 0;
  return churn(t, clientId, {}, 0, async (c) => {
    const until = Date.now() + t.randomMs(LIFE_MS);
    while (!t.stopped && c.connected && Date.now() < until) {
      const value = `${clientId}.${seq++}`;
      book.later.add(value);
      t.stats.retainedPublishes++;
      const ok = await publishAcked(c, topic, value, { qos: 1, retain: true });
      if (ok) {
        book.acked = value;
        book.later.clear();
      }
      await t.pause(1000);
    }
  });
}

/** Connects with a will; dropping the socket must publish it, a DISCONNECT must not. */
export async function willClient(t: Traffic, clientId: string): Promise<void> {
  // not churn(): every connection has a will payload of its own, to tell them apart
  for (let n = 0; !t.stopped; n++) {
    const payload = `${clientId}#${n}`;
    const will = { topic: `${WILL_ROOT}/${clientId}`, payload: Buffer.from(payload), qos: 1 as const, retain: false };
    const c = await t.connect({ clientId, clean: true, protocolVersion: version(t), will });
    if (c) {
      await t.pause(t.randomMs(LIFE_MS));
      t.willClosed(payload, await t.close(c, t.stopped ? 0 : 0.5));
    }
    if (!t.stopped) await t.pause(t.randomMs(OFFLINE_MS));
  }
}

/** Subscribes to every will, for the whole run (reconnecting and subscribing again when its node dies). */
export async function willWatcher(t: Traffic): Promise<MqttClient | undefined> {
  const c = await t.connect({ clientId: 'soak-will-watcher', clean: true, protocolVersion: 5, reconnectPeriod: 250 }, (c) =>
    c.on('message', (_topic, payload) => t.willWatched(payload.toString())),
  );
  if (c && !(await subscribe(c, `${WILL_ROOT}/#`, 1))) return undefined;
  return c;
}

/** Connects, sometimes subscribes and unsubscribes, and leaves: the churn itself. */
export function idler(t: Traffic, clientId: string): Promise<void> {
  return churn(t, clientId, {}, 0.5, async (c) => {
    const filter = t.randomFilter();
    if (t.rand() < 0.5 && (await subscribe(c, filter, 1))) {
      await t.pause(t.randomMs(LIFE_MS) / 2);
      await unsubscribe(c, filter);
    }
    await t.pause(t.randomMs(LIFE_MS) / 2);
  });
}
