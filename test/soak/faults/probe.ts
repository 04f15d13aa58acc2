/**
 * A steady QoS 0 stream across the cluster, to measure what a fault costs: on every node one
 * publisher (a numbered message every PROBE_EVERY_MS) and one subscriber to every
 * publisher's topic, each reconnecting to its own node as soon as it can. A message is owed
 * to a subscriber when it was published while that subscriber's subscription stood (SUBACK
 * seen, connection up), past a margin at either end for the routes to settle.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';

export const PROBE_EVERY_MS = 50;
const ROOT = 'soak-probe';
/** a subscription owes nothing in its first second (its route is still reaching the other nodes) nor in its last 200 ms */
const SETTLE_MS = 1000;
const TAIL_MS = 200;

interface Sent {
  seq: number;
  at: number;
}

interface Subscriber {
  node: number;
  /** [SUBACK time, close time (Infinity while up)] */
  intervals: [number, number][];
  /** publisher node → seq → arrival time */
  got: Map<number, Map<number, number>>;
}

/** What the probe measured over one window of time. */
export interface ProbeWindow {
  /** messages owed to subscribers, published in the window, and those never received */
  owed: number;
  lost: number;
  /** of those, between two different nodes */
  owedCross: number;
  lostCross: number;
  /** the longest time in the window with no cross-node delivery anywhere in the cluster */
  stallMs: number;
  /** from the window's start until every ordered pair of nodes delivered a message published after it (undefined: never in the window) */
  allPairsMs: number | undefined;
}

export class Probe {
  private readonly clients: MqttClient[] = [];
  private readonly sent: Sent[][];
  private readonly subs: Subscriber[];
  private timers: NodeJS.Timeout[] = [];
  /** cross-node arrival times, in order */
  private readonly crossArrivals: number[] = [];

  constructor(
    private readonly ports: number[],
    /** each publish sent */
    private readonly onPublish: () => void = () => {},
  ) {
    this.sent = ports.map(() => []);
    this.subs = ports.map((_, node) => ({ node, intervals: [], got: new Map(ports.map((_p, i) => [i, new Map()])) }));
  }

  start(): void {
    this.ports.forEach((port, node) => {
      const sub = this.connect(port, `soak-probe-sub-${node}`);
      const book = this.subs[node]!;
      sub.on('connect', () => {
        sub.subscribe(`${ROOT}/#`, { qos: 0 }, (err) => {
          if (!err && sub.connected) book.intervals.push([Date.now(), Infinity]);
        });
      });
      sub.on('close', () => {
        const last = book.intervals.at(-1);
        if (last && last[1] === Infinity) last[1] = Date.now();
      });
      sub.on('message', (_topic, payload) => {
        const [from, seq] = payload.toString().split('.').map(Number) as [number, number];
        const now = Date.now();
        book.got.get(from)?.set(seq, now);
        if (from !== node) this.crossArrivals.push(now);
      });
      const pub = this.connect(port, `soak-probe-pub-${node}`);
      let seq = 0;
      this.timers.push(setInterval(() => {
        if (!pub.connected) return;
        const s = seq++;
        pub.publish(`${ROOT}/${node}`, `${node}.${s}`, { qos: 0 }, (err) => {
          if (err) return;
          this.sent[node]!.push({ seq: s, at: Date.now() });
          this.onPublish();
        });
      }, PROBE_EVERY_MS));
    });
  }

  private connect(port: number, clientId: string): MqttClient {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId, clean: true, reconnectPeriod: 250, connectTimeout: 5000, keepalive: 30 });
    c.on('error', () => {});
    this.clients.push(c);
    return c;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.all(this.clients.map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))));
  }

  /** The probe's numbers for messages published in [from, to]. */
  window(from: number, to: number): ProbeWindow {
    let owed = 0;
    let lost = 0;
    let owedCross = 0;
    let lostCross = 0;
    for (const sub of this.subs) {
      const subscribed = (at: number) => sub.intervals.some(([a, b]) => at >= a + SETTLE_MS && at <= b - TAIL_MS);
      this.sent.forEach((sent, pubNode) => {
        const got = sub.got.get(pubNode)!;
        for (const m of sent) {
          if (m.at < from || m.at > to || !subscribed(m.at)) continue;
          const cross = pubNode !== sub.node;
          owed++;
          if (cross) owedCross++;
          if (got.has(m.seq)) continue;
          lost++;
          if (cross) lostCross++;
        }
      });
    }
    return { owed, lost, owedCross, lostCross, stallMs: this.stall(from, to), allPairsMs: this.allPairs(from, to) };
  }

  private stall(from: number, to: number): number {
    let last = from;
    let worst = 0;
    for (const t of this.crossArrivals) {
      if (t < from) continue;
      if (t > to) break;
      worst = Math.max(worst, t - last);
      last = t;
    }
    return Math.max(worst, to - last);
  }

  private allPairs(from: number, to: number): number | undefined {
    let latest = from;
    for (const sub of this.subs) {
      for (const [pubNode, got] of sub.got) {
        if (pubNode === sub.node) continue;
        const firstSeq = this.sent[pubNode]!.find((m) => m.at >= from)?.seq;
        let first = Infinity;
        if (firstSeq !== undefined) for (const [seq, at] of got) if (seq >= firstSeq && at < first) first = at;
        if (first === Infinity || first > to) return undefined;
        latest = Math.max(latest, first);
      }
    }
    return latest - from;
  }
}
