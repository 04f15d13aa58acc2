// Robustness of a real broker process under hostile or broken clients:
// (a) publishers streaming at full rate whose sockets are reset mid-stream,
// (b) a subscriber that stops reading while messages pour in (bounded memory and queue),
// (c) a client that sends its packets one byte at a time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as mqttPacket from 'mqtt-packet';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { startNode, type NodeProcess } from '../support/broker.js';
import { prng } from '../support/prng.js';
import { sleep } from '../support/wait.js';

type V = 3 | 4 | 5;
const MAX_MQUEUE = 200;
const OUT_BUFFER_LIMIT = 64 * 1024;


/** A raw MQTT client on a net socket: mqtt-packet for the bytes, nothing automatic but PUBACKs when asked. */
class RawClient {
  readonly sock: Socket;
  readonly packets: Packet[] = [];
  private readonly parser: mqttPacket.Parser;
  private waiters: { pred: (p: Packet) => boolean; resolve: (p: Packet) => void }[] = [];
  closed = false;
  parseError: Error | undefined;
  /** called on every PUBLISH received (packets are then not kept, to save memory) */
  onPublish: ((p: IPublishPacket) => void) | undefined;
  autoAck = true;
  /** packets not worth keeping (acks of a flood) */
  discard: ((p: Packet) => boolean) | undefined;
  private nextId = 1;

  private constructor(
    port: number,
    readonly version: V,
    readonly clientId: string,
  ) {
    this.sock = netConnect({ host: '127.0.0.1', port, noDelay: true });
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: Packet) => this.onPacket(p));
    this.parser.on('error', (e: Error) => (this.parseError ??= e));
    this.sock.on('data', (d: Buffer) => this.parser.parse(d));
    this.sock.on('error', () => {});
    this.sock.on('close', () => (this.closed = true));
    live.add(this);
  }

  static async connect(port: number, clientId: string, version: V = 4, extra: Partial<mqttPacket.IConnectPacket> = {}): Promise<RawClient> {
    const c = new RawClient(port, version, clientId);
    await new Promise<void>((resolve, reject) => {
      c.sock.once('connect', resolve);
      c.sock.once('error', reject);
    });
    c.send({ cmd: 'connect', protocolId: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clientId, clean: true, keepalive: 0, ...extra });
    const ack = (await c.wait((p) => p.cmd === 'connack')) as mqttPacket.IConnackPacket;
    assert.equal(version === 5 ? ack.reasonCode : ack.returnCode, 0, `CONNACK of ${clientId}`);
    return c;
  }

  private onPacket(p: Packet): void {
    if (p.cmd === 'publish') {
      if (this.autoAck && p.qos === 1) this.send({ cmd: 'puback', messageId: p.messageId });
      if (this.autoAck && p.qos === 2) this.send({ cmd: 'pubrec', messageId: p.messageId });
      if (this.onPublish) return this.onPublish(p);
    }
    if (p.cmd === 'pubrel' && this.autoAck) this.send({ cmd: 'pubcomp', messageId: p.messageId });
    const w = this.waiters.findIndex((x) => x.pred(p));
    if (w >= 0) {
      const [x] = this.waiters.splice(w, 1);
      x!.resolve(p);
      return;
    }
    if (!this.discard?.(p)) this.packets.push(p);
  }

  encode(p: Packet): Buffer {
    return mqttPacket.generate(p, { protocolVersion: this.version });
  }

  send(p: Packet): boolean {
    return this.sock.write(this.encode(p));
  }

  wait(pred: (p: Packet) => boolean, timeoutMs = 5000): Promise<Packet> {
    const i = this.packets.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.packets.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (p: Packet) => {
          clearTimeout(t);
          resolve(p);
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`${this.clientId}: no matching packet within ${timeoutMs} ms (closed: ${this.closed}, parse error: ${this.parseError?.message})`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async subscribe(topic: string, qos: 0 | 1 | 2): Promise<void> {
    const messageId = this.id();
    this.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] });
    const ack = (await this.wait((p) => p.cmd === 'suback' && p.messageId === messageId)) as mqttPacket.ISubackPacket;
    assert.deepEqual(ack.granted, [qos]);
  }

  id(): number {
    const id = this.nextId;
    this.nextId = id === 65535 ? 1 : id + 1;
    return id;
  }

  destroy(): void {
    live.delete(this);
    this.sock.destroy();
  }
}

const live = new Set<RawClient>();

/** Waits until cond() holds, polling; fails with what() after timeoutMs. */
async function until(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await sleep(10);
  }
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

function procMax(path: string, fallback: number): number {
  try {
    return Math.max(...readFileSync(path, 'utf8').trim().split(/\s+/).map(Number));
  } catch {
    return fallback;
  }
}

const seqOf = (p: IPublishPacket) => (p.payload as Buffer).readUInt32BE(0);

function payload(seq: number, size: number): Buffer {
  const b = Buffer.alloc(size, 0x61);
  b.writeUInt32BE(seq, 0);
  return b;
}

describe('robustness against broken and slow clients', { timeout: 90_000 }, () => {
  let node: NodeProcess;

  before(async () => {
    node = await startNode({
      name: 'robustness',
      env: {
        STARLING_NODE_NAME: 'robust@127.0.0.1',
        STARLING_WS_PORT: '-1',
        STARLING_MAX_MQUEUE: String(MAX_MQUEUE),
        STARLING_OUT_BUFFER_LIMIT: String(OUT_BUFFER_LIMIT),
        // (b)'s paused subscriber must outlast the flood, however long a loaded machine takes
        STARLING_SEND_TIMEOUT_MS: '0',
        STARLING_SYS_INTERVAL_MS: '0',
        STARLING_SYS_HEARTBEAT_MS: '0',
      },
    });
  });

  after(async () => {
    for (const c of [...live]) c.destroy();
    await node?.stop(3000);
  });

  function assertHealthy(): void {
    assert.ok(node.proc.alive, `the broker died:\n${node.proc.tail()}`);
    const errors = node.logEntries().filter((e) => e.msg === 'uncaught exception' || (typeof e.level === 'number' && e.level >= 50));
    assert.deepEqual(
      errors.map((e) => JSON.stringify(e).slice(0, 600)),
      [],
      'the broker logged errors',
    );
  }

  it('(a) publishers reset mid-stream do not disturb another publisher/subscriber pair', async () => {
    const port = node.mqttPort;
    const TOTAL = 6000;
    const subB = await RawClient.connect(port, 'pair-sub', 5);
    await subB.subscribe('pair/#', 1);
    const pubB = await RawClient.connect(port, 'pair-pub', 4);
    pubB.discard = (p) => p.cmd === 'puback';
    // a subscriber of the victims' topic, so their messages are really dispatched
    const victimSub = await RawClient.connect(port, 'victim-sub', 4);
    await victimSub.subscribe('victim/#', 1);
    let victimGot = 0;
    victimSub.onPublish = () => victimGot++;
    const got: number[] = [];
    subB.onPublish = (p) => got.push(seqOf(p));

    // pair B: QoS 1 at a steady pace, at most 100 ahead of its subscriber
    let sentB = 0;
    const pairB = (async () => {
      while (sentB < TOTAL) {
        if (sentB - got.length >= 100) {
          await sleep(1);
          continue;
        }
        pubB.send({ cmd: 'publish', topic: 'pair/x', payload: payload(sentB, 100), qos: 1, retain: false, dup: false, messageId: pubB.id() });
        sentB++;
        if (sentB % 50 === 0) await new Promise((r) => setImmediate(r));
      }
    })();

    // victims: stream QoS 0 and 1 at full rate, then RST in the middle of a packet
    const rnd = prng(11);
    const victims = async (k: number) => {
      const v = await RawClient.connect(port, `victim-${k}`, k % 2 === 0 ? 4 : 5);
      const packets = [0, 1].map((qos) =>
        v.encode({ cmd: 'publish', topic: `victim/${k}`, payload: payload(k, 1024), qos: qos as 0 | 1, retain: false, dup: false, messageId: qos ? 7 : undefined }),
      );
      const batch = Buffer.concat(Array.from({ length: 64 }, (_, i) => packets[i % 2]!));
      const stopAt = Date.now() + 100 + Math.floor(rnd() * 300);
      let bytes = 0;
      while (Date.now() < stopAt) {
        bytes += batch.length;
        if (!v.sock.write(batch)) await new Promise((r) => v.sock.once('drain', r));
      }
      // half a packet, then a reset
      v.sock.write(packets[1]!.subarray(0, 10));
      await new Promise((r) => setImmediate(r));
      v.sock.resetAndDestroy();
      live.delete(v);
      return bytes;
    };
    const streamed = await Promise.all([0, 1, 2, 3, 4, 5].map((k) => victims(k)));
    await pairB;
    await until(() => got.length >= TOTAL, 15_000, () => `pair subscriber got ${got.length}/${TOTAL}`);
    await sleep(100);
    assert.equal(got.length, TOTAL, 'no duplicates');
    assert.deepEqual(
      got,
      Array.from({ length: TOTAL }, (_, i) => i),
      'in order, nothing lost',
    );
    assert.ok(victimGot > 0, 'the victims were really dispatched');
    assert.equal(subB.parseError, undefined);
    console.log(`(a) victims streamed ${(streamed.reduce((a, b) => a + b, 0) / 1e6).toFixed(1)} MB before their reset; pair delivered ${TOTAL}; victim subscriber got ${victimGot}`);

    // the victims' sessions are gone: their client ids connect afresh
    for (let k = 0; k < 6; k++) {
      const again = await RawClient.connect(port, `victim-${k}`, 4);
      again.destroy();
    }
    assertHealthy();
    for (const c of [subB, pubB, victimSub]) c.destroy();
  });

  it('(b) a subscriber that stops reading: bounded memory, a healthy subscriber gets everything, the slow one at most max_mqueue afterwards', async () => {
    const port = node.mqttPort;
    const N = 50_000;
    const SIZE = 1024;
    const WINDOW = 150; // the publisher stays at most this far ahead of the healthy subscriber (< max_mqueue)
    const slow = await RawClient.connect(port, 'slow-sub', 4);
    await slow.subscribe('flood/#', 1);
    const slowSeqs: number[] = [];
    let slowDup = 0;
    slow.autoAck = false; // nothing is read while paused anyway; after resume we ack by hand
    slow.onPublish = (p) => {
      slowSeqs.push(seqOf(p));
      if (p.dup) slowDup++;
      if (p.qos === 1) slow.send({ cmd: 'puback', messageId: p.messageId });
    };
    slow.sock.pause();

    const healthy = await RawClient.connect(port, 'healthy-sub', 5);
    await healthy.subscribe('flood/#', 1);
    const healthySeqs: number[] = [];
    healthy.onPublish = (p) => healthySeqs.push(seqOf(p));

    const pub = await RawClient.connect(port, 'flood-pub', 4);
    pub.discard = (p) => p.cmd === 'puback';
    const pid = node.proc.pid;
    const rssBefore = procStatus(pid, 'VmRSS');
    const t0 = Date.now();
    // even seq QoS 0, odd seq QoS 1
    for (let seq = 0; seq < N; ) {
      if (seq - healthySeqs.length >= WINDOW) {
        await new Promise((r) => setImmediate(r));
        if (Date.now() - t0 > 40_000) throw new Error(`flood stalled: published ${seq}, healthy got ${healthySeqs.length}`);
        continue;
      }
      const qos = (seq % 2) as 0 | 1;
      if (!pub.send({ cmd: 'publish', topic: 'flood/x', payload: payload(seq, SIZE), qos, retain: false, dup: false, messageId: qos ? pub.id() : undefined })) {
        await new Promise((r) => pub.sock.once('drain', r));
      }
      seq++;
    }
    await until(() => healthySeqs.length >= N, 20_000, () => `healthy subscriber got ${healthySeqs.length}/${N}`);
    const floodMs = Date.now() - t0;
    await sleep(100);
    const rssAfter = procStatus(pid, 'VmRSS');
    const peak = procStatus(pid, 'VmHWM');
    console.log(`(b) ${N} × ${SIZE} B in ${floodMs} ms; broker RSS ${(rssBefore / 1e6).toFixed(0)} MB before, ${(rssAfter / 1e6).toFixed(0)} MB after, peak ${(peak / 1e6).toFixed(0)} MB`);
    assert.equal(healthySeqs.length, N, 'the healthy subscriber got no duplicates');
    // everything, in order per QoS (a QoS 0 message may overtake QoS 1 ones waiting for the
    // inflight window: MQTT orders per topic and QoS [MQTT-4.6.0-6])
    for (const qos of [0, 1]) {
      const seqs = healthySeqs.filter((s) => s % 2 === qos);
      assert.equal(seqs.length, N / 2, `healthy subscriber: QoS ${qos} count`);
      for (let i = 0; i < seqs.length; i++) if (seqs[i] !== 2 * i + qos) assert.fail(`healthy subscriber: QoS ${qos} message ${i} is seq ${seqs[i]}`);
    }
    assert.ok(peak - rssBefore < 300 * 1024 * 1024, `broker memory grew by ${((peak - rssBefore) / 1e6).toFixed(0)} MB`);
    assert.equal(slowSeqs.length, 0, 'the paused subscriber read nothing yet');

    // the slow one resumes: it gets what sat in its socket buffers, then at most max_mqueue queued messages
    slow.sock.resume();
    let last = -1;
    let quietSince = Date.now();
    await until(
      () => {
        if (slowSeqs.length !== last) {
          last = slowSeqs.length;
          quietSince = Date.now();
        }
        return Date.now() - quietSince > 700;
      },
      20_000,
      () => `slow subscriber keeps receiving (${slowSeqs.length})`,
    );
    assert.equal(slow.parseError, undefined);
    assert.equal(slowDup, 0, 'no redeliveries');
    assert.equal(new Set(slowSeqs).size, slowSeqs.length, 'no duplicates');
    // what could sit in socket buffers: the broker's own (the congestion limit) and the kernel's both ways
    const kernel = procMax('/proc/sys/net/ipv4/tcp_rmem', 6 << 20) + procMax('/proc/sys/net/ipv4/tcp_wmem', 4 << 20);
    const bufferedMax = Math.ceil((kernel + OUT_BUFFER_LIMIT) / SIZE) + 64;
    // the queue keeps the newest QoS 1 messages (QoS 0 to a congested client is dropped, not
    // queued): the last max_mqueue QoS 1 messages all arrive, in order, and no QoS 0 among them
    const tailFrom = N - 2 * MAX_MQUEUE;
    const tail = slowSeqs.filter((s) => s >= tailFrom);
    const early = slowSeqs.filter((s) => s < tailFrom);
    console.log(`(b) slow subscriber after resume: ${slowSeqs.length} messages (${early.length} from its socket buffers, ${tail.length} from its queue of max ${MAX_MQUEUE})`);
    assert.deepEqual(
      tail,
      Array.from({ length: MAX_MQUEUE }, (_, i) => tailFrom + 1 + 2 * i),
      'the queued (newest) QoS 1 messages arrive after resuming',
    );
    assert.ok(early.length > 0, 'something was delivered before the socket filled up');
    // QoS 1 went out directly only while the inflight window (32 by default) had room: the
    // paused client acked nothing, so the rest waited in the queue
    const earlyQos1 = early.filter((s) => s % 2 === 1);
    assert.deepEqual(
      earlyQos1,
      Array.from({ length: earlyQos1.length }, (_, i) => 2 * i + 1),
      'the first QoS 1 messages, in order',
    );
    assert.ok(earlyQos1.length <= 32, `${earlyQos1.length} QoS 1 messages beyond the inflight window`);
    assert.ok(early.length <= bufferedMax, `${early.length} messages before the queue: more than socket buffers hold (${bufferedMax})`);
    assert.ok(slowSeqs.length <= bufferedMax + MAX_MQUEUE);
    assert.ok(slowSeqs.length < N / 2, `the slow subscriber got ${slowSeqs.length} of ${N}: the queue did not bound it`);
    // the early part is the beginning of the stream: nothing from the middle was kept
    const earlyMax = Math.max(...early);
    assert.ok(earlyMax < tailFrom - 1000, `an early message (${earlyMax}) from late in the stream`);
    for (const c of [slow, healthy, pub]) c.destroy();
    assertHealthy();
  });

  for (const version of [4, 5] as V[]) {
    it(`(c) MQTT ${version === 5 ? '5' : '3.1.1'}: CONNECT + SUBSCRIBE + PUBLISH sent one byte at a time`, async () => {
      const port = node.mqttPort;
      const gen = (p: Packet) => mqttPacket.generate(p, { protocolVersion: version });
      const big = Buffer.alloc(20_000, 0x62);
      const bytes = Buffer.concat([
        gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: `bytewise-${version}`, clean: true, keepalive: 0 }),
        gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'bytes/#', qos: 1 }] }),
        gen({ cmd: 'publish', topic: 'bytes/x', payload: Buffer.from('hello'), qos: 1, retain: false, dup: false, messageId: 2, properties: version === 5 ? { userProperties: { k: 'v' } } : undefined }),
        gen({ cmd: 'publish', topic: 'bytes/y', payload: Buffer.from('qos0'), qos: 0, retain: false, dup: false }),
        gen({ cmd: 'pingreq' }),
      ]);
      const sock = netConnect({ host: '127.0.0.1', port, noDelay: true });
      const parser = mqttPacket.parser({ protocolVersion: version });
      const got: Packet[] = [];
      parser.on('packet', (p: Packet) => got.push(p));
      let parseError: Error | undefined;
      parser.on('error', (e: Error) => (parseError ??= e));
      sock.on('data', (d: Buffer) => parser.parse(d));
      sock.on('error', () => {});
      try {
        await new Promise<void>((resolve, reject) => {
          sock.once('connect', resolve);
          sock.once('error', reject);
        });
        // one byte per write, each after a timer turn, so they arrive as separate reads
        for (let i = 0; i < bytes.length; i++) {
          sock.write(bytes.subarray(i, i + 1));
          await sleep(0);
        }
        // then a large PUBLISH in random small chunks
        const rnd = prng(version);
        const large = gen({ cmd: 'publish', topic: 'bytes/big', payload: big, qos: 1, retain: false, dup: false, messageId: 3 });
        for (let off = 0; off < large.length; ) {
          const n = 1 + Math.floor(rnd() * (rnd() < 0.8 ? 7 : 3000));
          sock.write(large.subarray(off, off + n));
          off += n;
          if (rnd() < 0.3) await sleep(0);
        }
        await until(
          () => got.filter((p) => p.cmd === 'publish').length >= 3 && got.some((p) => p.cmd === 'pingresp') && got.some((p) => p.cmd === 'puback' && p.messageId === 3),
          10_000,
          () => `got ${got.map((p) => p.cmd).join(',')}`,
        );
        assert.equal(parseError, undefined);
        const cmds = got.map((p) => p.cmd);
        assert.equal(cmds[0], 'connack');
        assert.equal((got[0] as mqttPacket.IConnackPacket)[version === 5 ? 'reasonCode' : 'returnCode'], 0);
        assert.deepEqual((got.find((p) => p.cmd === 'suback') as mqttPacket.ISubackPacket).granted, [1]);
        const acks = got.filter((p): p is mqttPacket.IPubackPacket => p.cmd === 'puback').map((p) => p.messageId);
        assert.deepEqual(acks, [2, 3]);
        const pubs = got.filter((p): p is IPublishPacket => p.cmd === 'publish');
        assert.deepEqual(
          pubs.map((p) => [p.topic, Buffer.from(p.payload as Buffer).length, p.qos]),
          [
            ['bytes/x', 5, 1],
            ['bytes/y', 4, 0],
            ['bytes/big', big.length, 1],
          ],
        );
        assert.equal(Buffer.from(pubs[0]!.payload as Buffer).toString(), 'hello');
        assert.ok(Buffer.from(pubs[2]!.payload as Buffer).equals(big));
        if (version === 5) assert.deepEqual({ ...pubs[0]!.properties?.userProperties }, { k: 'v' });
        assert.ok(!sock.destroyed && !sock.readableEnded, 'still connected');
      } finally {
        sock.destroy();
      }
      assertHealthy();
    });
  }
});
