/**
 * Load generator child process (forked by loadgen/client.ts). One process plays one role
 * over many sockets; the parent drives it over IPC: setup → start → snap… → stop.
 *
 * Roles:
 *  - sub:     one connection per entry of `topics`, counts PUBLISHes, PUBACKs QoS 1.
 *  - pub:     one connection per topic, QoS 0 flood (write while write() is true, resume
 *             on 'drain') or QoS 1 with a window of unacked PUBLISHes.
 *  - conn:    opens `count` idle connections with bounded concurrency.
 *  - latency: one publisher + one subscriber in this process (same hrtime clock),
 *             fixed rate, payload carries the send time.
 */
import net from 'node:net';
import {
  PacketType,
  Qos1Ring,
  Scanner,
  connectPacket,
  publishPacket,
  pubacks,
  repeat,
  subscribeManyPacket,
  subscribePacket,
} from './mqtt.js';
import type { GenReply, GenRequest, Snap } from './protocol.js';

// bad: PUBLISHes of the wrong size, QoS or topic (a broker bug, or a fast wrong answer).
const counters = { sent: 0, acked: 0, received: 0, connected: 0, failed: 0, errors: 0, bad: 0 };
const sockets: net.Socket[] = [];
let running = false;
let startFn: () => void = () => {};
let stopFn: () => void = () => {};
// Latency samples (ns) since the last snap.
let latencies: number[] = [];
let lastError = '';
// Per subscriber connection (sub role): lets a cluster scenario see every route arrive.
let perSub: number[] | undefined;

// One read buffer for every socket of this process: reads are handled synchronously and
// the scanner copies any partial packet it keeps, so sharing is safe. `onread` skips the
// stream machinery and a Buffer allocation per read, which dominates the generator's
// cost when a broker writes many small segments (fan-out to 100 sockets).
const readBuf = Buffer.allocUnsafe(256 * 1024);

function openSocket(host: string, port: number, onData?: (chunk: Buffer) => void): net.Socket {
  const s = onData
    ? net.connect({ host, port, onread: { buffer: readBuf, callback: (n: number, buf: Uint8Array) => (onData(Buffer.from(buf.buffer, buf.byteOffset, n)), true) } })
    : net.connect({ host, port });
  s.setNoDelay(true);
  s.on('error', (e) => {
    counters.errors++;
    lastError = e.message;
  });
  sockets.push(s);
  return s;
}

/**
 * Opens a connection, sends `first` (CONNECT, maybe SUBSCRIBE) and resolves on the first
 * packet of type `doneOn`; every other packet, before and after, goes to `onOther`.
 * `afterRead` runs once per read, after all its packets were scanned.
 */
function connectAndAwait(
  host: string,
  port: number,
  first: Buffer,
  doneOn: number,
  onOther: (type: number, flags: number, buf: Buffer, body: number, end: number) => void,
  afterRead?: () => void,
): { socket: net.Socket; ready: Promise<void> } {
  let done = false;
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  const scanner = new Scanner((type, flags, buf, body, end) => {
    if (!done && type === doneOn) {
      done = true;
      resolveReady();
    } else onOther(type, flags, buf, body, end);
  });
  const socket = openSocket(host, port, (chunk) => {
    scanner.feed(chunk);
    afterRead?.();
  });
  socket.once('close', () => {
    if (!done) rejectReady(new Error(`connection closed before packet type ${doneOn}: ${lastError}`));
  });
  socket.write(first);
  return { socket, ready };
}

interface Common {
  host: string;
  port: number;
  clientPrefix: string;
}

async function setupSub(p: Common & { topics: string[]; qos: 0 | 1; payloadSize: number; persistent?: boolean }): Promise<void> {
  const counts = (perSub = new Array<number>(p.topics.length).fill(0));
  await Promise.all(
    p.topics.map((topic, i) => {
      const ids = new Uint16Array(16384);
      let n = 0;
      const flushAcks = (): void => {
        if (n > 0) {
          conn.socket.write(pubacks(ids, n));
          n = 0;
        }
      };
      const topicBuf = Buffer.from(topic);
      // Cheap validity check on every packet: body size and QoS; the topic bytes on a sample.
      const expectLen = 2 + topicBuf.length + (p.qos ? 2 : 0) + p.payloadSize;
      const expectFlags = p.qos << 1;
      let sample = 0;
      const onPacket = (type: number, flags: number, buf: Buffer, body: number, end: number): void => {
        if (type !== PacketType.PUBLISH) return;
        counters.received++;
        counts[i]!++;
        if (end - body !== expectLen || (flags & 0x06) !== expectFlags) counters.bad++;
        else if ((++sample & 1023) === 0 && topicBuf.compare(buf, body + 2, body + 2 + topicBuf.length) !== 0) counters.bad++;
        if (flags & 0x06) {
          // QoS > 0: the packet id follows the topic.
          const tlen = (buf[body]! << 8) | buf[body + 1]!;
          const at = body + 2 + tlen;
          ids[n++] = (buf[at]! << 8) | buf[at + 1]!;
          if (n === ids.length) flushAcks();
        }
      };
      const first = Buffer.concat([connectPacket(`${p.clientPrefix}${i}`, 300, !p.persistent), subscribePacket(topic, p.qos)]);
      // PUBACKs go out once per read, in one write, not once per message.
      const conn = connectAndAwait(p.host, p.port, first, PacketType.SUBACK, onPacket, flushAcks);
      return conn.ready;
    }),
  );
}

async function setupPub(
  p: Common & { topics: string[]; qos: 0 | 1; payloadSize: number; window: number; chunkBytes: number },
): Promise<void> {
  const payload = Buffer.alloc(p.payloadSize, 0x61);
  const starters: (() => void)[] = [];
  await Promise.all(
    p.topics.map(async (topic, i) => {
      let acked = 0;
      let afterRead = (): void => {};
      const onPacket = (type: number): void => {
        if (type === PacketType.PUBACK) acked++;
      };
      const conn = connectAndAwait(p.host, p.port, connectPacket(`${p.clientPrefix}${i}`), PacketType.CONNACK, onPacket, () => afterRead());
      await conn.ready;
      const s = conn.socket;
      if (p.qos === 0) {
        const packet = publishPacket(topic, payload, 0);
        const perChunk = Math.max(1, Math.floor(p.chunkBytes / packet.length));
        const chunk = repeat(packet, perChunk);
        // Flood: write pre-built chunks until the socket buffer is full, resume on drain.
        const pump = (): void => {
          while (running && !s.destroyed) {
            counters.sent += perChunk;
            if (!s.write(chunk)) {
              s.once('drain', pump);
              return;
            }
          }
        };
        starters.push(pump);
      } else {
        const ring = new Qos1Ring(topic, payload);
        let sent = 0;
        let seenAcked = 0;
        const topUp = (): void => {
          counters.acked += acked - seenAcked;
          seenAcked = acked;
          const n = p.window - (sent - acked);
          if (!running || n <= 0 || s.destroyed) return;
          sent += n;
          counters.sent += n;
          for (const b of ring.take(n)) s.write(b);
        };
        // After each read (a batch of PUBACKs), refill the window in one go.
        afterRead = topUp;
        starters.push(topUp);
      }
    }),
  );
  startFn = () => starters.forEach((f) => f());
}

/**
 * `subs` > 0: each client also subscribes to `subs` filters `<subPrefix><i>/<k>` in one
 * SUBSCRIBE sent with its CONNECT, and counts as connected once its SUBACK granted them all.
 */
async function runConn(p: Common & { count: number; concurrency: number; keepalive: number; subs?: number; subPrefix?: string }): Promise<{ elapsedMs: number }> {
  const subs = p.subs ?? 0;
  const packets = Array.from({ length: p.count }, (_, i) => {
    const connect = connectPacket(`${p.clientPrefix}${i}`, p.keepalive);
    if (!subs) return connect;
    const filters = Array.from({ length: subs }, (_, k) => `${p.subPrefix ?? p.clientPrefix}${i}/${k}`);
    return Buffer.concat([connect, subscribeManyPacket(filters, 0)]);
  });
  // CONNACK (4 bytes), then with subscriptions a SUBACK of 4 + subs bytes, all return codes 0.
  const expect = subs ? 8 + subs : 4;
  const t0 = performance.now();
  let started = 0;
  let finished = 0;
  return new Promise((resolve) => {
    const openOne = (): void => {
      const i = started++;
      let settled = false;
      const settle = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        if (ok) counters.connected++;
        else counters.failed++;
        finished++;
        if (started < p.count) openOne();
        else if (finished === p.count) resolve({ elapsedMs: performance.now() - t0 });
      };
      // Kept lean (no setNoDelay, shared read buffer): at 10k+ connections/s the
      // per-socket cost in this process is what would limit the measured rate.
      let got = 0;
      const onRead = (n: number, buf: Uint8Array): boolean => {
        if (got === 0 && !(n >= 4 && buf[0] === 0x20 && buf[3] === 0)) settle(false);
        // a granted QoS 0 is byte 0: any other byte past the SUBACK's id is a refusal (0x80)
        for (let b = Math.max(0, 8 - got); b < n && got + b < expect; b++) if (buf[b] !== 0) settle(false);
        got += n;
        if (got >= expect) settle(true);
        return true;
      };
      const s = net.connect({ host: p.host, port: p.port, onread: { buffer: readBuf, callback: onRead } });
      s.on('error', onConnError);
      s.once('close', () => settle(false));
      sockets.push(s);
      s.write(packets[i]!);
    };
    for (let k = 0; k < Math.min(p.concurrency, p.count); k++) openOne();
  });
}

function onConnError(e: Error): void {
  counters.errors++;
  lastError = e.message;
}

/** `pubHost`/`pubPort`: publisher on another broker node than the subscriber (cluster). */
async function setupLatency(p: Common & { topic: string; rate: number; payloadSize: number; pubHost?: string; pubPort?: number }): Promise<void> {
  const onPacket = (type: number, _flags: number, buf: Buffer, body: number): void => {
    if (type !== PacketType.PUBLISH) return;
    const now = process.hrtime.bigint();
    counters.received++;
    const tlen = (buf[body]! << 8) | buf[body + 1]!;
    latencies.push(Number(now - buf.readBigUInt64BE(body + 2 + tlen)));
  };
  const sub = connectAndAwait(
    p.host,
    p.port,
    Buffer.concat([connectPacket(`${p.clientPrefix}sub`), subscribePacket(p.topic, 0)]),
    PacketType.SUBACK,
    onPacket,
  );
  await sub.ready;
  const conn = connectAndAwait(p.pubHost ?? p.host, p.pubPort ?? p.port, connectPacket(`${p.clientPrefix}pub`), PacketType.CONNACK, () => {});
  await conn.ready;
  const pub = conn.socket;
  const template = publishPacket(p.topic, Buffer.alloc(Math.max(8, p.payloadSize), 0x61), 0);
  const tsOff = template.length - Math.max(8, p.payloadSize);
  let timer: NodeJS.Timeout | undefined;
  startFn = () => {
    const t0 = performance.now();
    let sent = 0;
    // 1 ms ticks; each tick sends whatever is due so the average rate is exact even
    // though timers are coarse. Each message is its own write with its own timestamp.
    timer = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) * p.rate) / 1000) - sent;
      for (let k = 0; k < due; k++) {
        const pkt = Buffer.from(template);
        pkt.writeBigUInt64BE(process.hrtime.bigint(), tsOff);
        pub.write(pkt);
        sent++;
        counters.sent++;
      }
    }, 1);
  };
  stopFn = () => clearInterval(timer);
}

function snap(): Snap {
  const s: Snap = { t: performance.now(), cpu: process.cpuUsage(), counters: { ...counters }, lastError };
  if (perSub) s.perSub = [...perSub];
  if (latencies.length) {
    s.latency = summarize(latencies);
    latencies = [];
  }
  return s;
}

function summarize(ns: number[]): NonNullable<Snap['latency']> {
  const a = Float64Array.from(ns).sort();
  const q = (f: number) => a[Math.min(a.length - 1, Math.floor(f * a.length))]! / 1e6;
  let sum = 0;
  for (const v of a) sum += v;
  return { count: a.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: a[a.length - 1]! / 1e6, mean: sum / a.length / 1e6 };
}

async function handle(req: GenRequest): Promise<Omit<GenReply, 'id'>> {
  switch (req.op) {
    case 'setup': {
      const p = req.params as never;
      if (req.role === 'sub') await setupSub(p);
      else if (req.role === 'pub') await setupPub(p);
      else if (req.role === 'latency') await setupLatency(p);
      else if (req.role !== 'conn') throw new Error(`unknown role ${req.role}`);
      return { ok: true };
    }
    case 'start':
      running = true;
      startFn();
      return { ok: true };
    case 'connect':
      return { ok: true, result: await runConn(req.params as never) };
    case 'close':
      // Drop every connection but keep the process (after the idle scenario's warmup).
      for (const s of sockets.splice(0)) s.destroy();
      return { ok: true };
    case 'snap':
      return { ok: true, snap: snap() };
    case 'stop': {
      running = false;
      stopFn();
      for (const s of sockets) s.destroy();
      return { ok: true, snap: snap() };
    }
  }
}

process.on('message', (req: GenRequest) => {
  handle(req).then(
    (r) => process.send!({ id: req.id, ...r }),
    (e: Error) => process.send!({ id: req.id, ok: false, error: e.message }),
  );
});
// Orphaned (parent gone): exit rather than keep flooding a broker.
process.on('disconnect', () => process.exit(0));
