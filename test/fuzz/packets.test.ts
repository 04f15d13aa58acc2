// Fuzzing a real broker process with random bytes and mutated valid packets, each case on its
// own raw TCP connection, several at a time. Seeded (FUZZ_SEED, FUZZ_CASES override) so a
// failure reproduces. Every connection must end closed by the broker or still alive, the
// broker must survive, log no uncaught exception, and serve a well-behaved client afterwards.
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connectAsync, type MqttClient } from 'mqtt';
import * as mqttPacket from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';
import { startNode, type NodeProcess } from '../support/broker.js';
import { prng } from '../support/prng.js';
import { varint } from '../support/bytes.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0xf022);
const CASES = Number(process.env.FUZZ_CASES ?? 3000);
const CONCURRENCY = 32;
/** how long a case may stay open after its last write before we call it alive and cut it */
const CASE_MS = 100;
/** cases that must be closed get longer, so a slow close is not mistaken for a connection left open */
const MUST_CLOSE_MS = 2000;


type V = 3 | 4 | 5;
const gen = (p: Packet, v: V) => mqttPacket.generate(p, { protocolVersion: v });

function connectPacket(v: V, clientId: string, extra: Partial<mqttPacket.IConnectPacket> = {}): Buffer {
  return gen({ cmd: 'connect', protocolId: v === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: v, clientId, clean: true, keepalive: 30, ...extra }, v);
}

/** Valid CONNECTs of every version, the seeds for mutated first packets. */
function connectTemplates(v: V): Buffer[] {
  const out = [
    connectPacket(v, 'fz-c'),
    connectPacket(v, 'fz-w', { will: { topic: 'fz/will', payload: Buffer.from('gone'), qos: 1, retain: false }, username: 'u', password: Buffer.from('p') }),
  ];
  if (v !== 3) out.push(connectPacket(v, '', { clean: true })); // mqtt-packet cannot even write it for 3.1
  if (v === 5) {
    out.push(
      connectPacket(5, 'fz-p', {
        properties: { sessionExpiryInterval: 0, receiveMaximum: 5, maximumPacketSize: 4096, topicAliasMaximum: 3, userProperties: { a: 'b' } },
        will: { topic: 'fz/will5', payload: Buffer.from('x'), qos: 0, retain: false, properties: { willDelayInterval: 0, contentType: 'c' } },
      }),
    );
  }
  return out;
}

/** Valid packets a client sends after CONNECT, the seeds for mutated later packets. */
function sessionTemplates(v: V): Buffer[] {
  const pub = (qos: 0 | 1 | 2, extra: Partial<mqttPacket.IPublishPacket> = {}) => gen({ cmd: 'publish', topic: 'fz/t', payload: Buffer.from('payload'), qos, retain: false, dup: false, messageId: qos ? 17 : undefined, ...extra }, v);
  const out = [
    pub(0),
    pub(1),
    pub(2),
    pub(0, { retain: true, topic: 'fz/r' }),
    gen({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'fz/#', qos: 1 }, { topic: '$share/g/fz/+', qos: 2 }] }, v),
    gen({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['fz/#', 'nope'] }, v),
    gen({ cmd: 'puback', messageId: 1 }, v),
    gen({ cmd: 'pubrec', messageId: 2 }, v),
    gen({ cmd: 'pubrel', messageId: 17 }, v),
    gen({ cmd: 'pubcomp', messageId: 2 }, v),
    gen({ cmd: 'pingreq' }, v),
    gen({ cmd: 'disconnect' }, v),
  ];
  if (v === 5) {
    out.push(
      pub(1, { properties: { userProperties: { k: 'v' }, messageExpiryInterval: 10, contentType: 'text' } }),
      pub(0, { properties: { topicAlias: 1 } }),
      pub(0, { topic: '', properties: { topicAlias: 1 } }),
      gen({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'fz/+', qos: 2, nl: true, rap: true, rh: 2 }], properties: { subscriptionIdentifier: 9 } }, 5),
      gen({ cmd: 'puback', messageId: 1, reasonCode: 0x10, properties: { reasonString: 'r' } }, 5),
      gen({ cmd: 'disconnect', reasonCode: 0x04, properties: { sessionExpiryInterval: 0, reasonString: 'bye' } }, 5),
      gen({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'm' } }, 5),
    );
  }
  return out;
}

/** One random mutation: flip, set, insert, delete, truncate, corrupt or re-frame the length. */
function mutate(rnd: () => number, src: Buffer): { bytes: Buffer; how: string } {
  const b = Array.from(src);
  const at = () => Math.floor(rnd() * b.length);
  const n = 1 + Math.floor(rnd() * 3);
  const hows: string[] = [];
  for (let k = 0; k < n; k++) {
    const r = rnd();
    if (r < 0.25 && b.length) {
      const i = at();
      b[i]! ^= 1 << Math.floor(rnd() * 8);
      hows.push('flip');
    } else if (r < 0.4 && b.length) {
      b[at()] = Math.floor(rnd() * 256);
      hows.push('set');
    } else if (r < 0.5) {
      b.splice(at(), 0, ...Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => Math.floor(rnd() * 256)));
      hows.push('insert');
    } else if (r < 0.6 && b.length) {
      b.splice(at(), 1 + Math.floor(rnd() * 3));
      hows.push('delete');
    } else if (r < 0.7) {
      b.length = Math.floor(rnd() * b.length);
      hows.push('truncate');
    } else if (r < 0.8 && b.length > 1) {
      b[1] = Math.floor(rnd() * 256); // corrupt the remaining length
      hows.push('length');
    } else if (r < 0.85) {
      b.splice(1, 0, 0xff, 0xff, 0xff, 0xff); // five continuation bytes
      hows.push('varint5');
    } else if (r < 0.9 && b.length > 1) {
      b[0]! ^= 1 << Math.floor(rnd() * 4); // header flags
      hows.push('flags');
    } else {
      // change the body, then frame it again with its true length, so it reaches the parser
      let h = 1;
      while (h < b.length && h < 5 && b[h]! & 0x80) h++;
      const body = b.slice(Math.min(h + 1, b.length));
      if (body.length) body[Math.floor(rnd() * body.length)] = Math.floor(rnd() * 256);
      if (rnd() < 0.3) body.splice(Math.floor(rnd() * (body.length + 1)), 0, Math.floor(rnd() * 256));
      b.splice(0, b.length, b[0] ?? 0x30, ...varint(body.length), ...body);
      hows.push('reframed');
    }
  }
  return { bytes: Buffer.from(b), how: hows.join('+') };
}

type Outcome = 'closed' | 'reset' | 'alive';

interface Case {
  kind: string;
  version: V | undefined;
  chunks: Buffer[];
  /** the broker must close this connection (a certain protocol violation) */
  mustClose: boolean;
}

/** Whether bytes (after a valid CONNECT, or as first bytes) certainly violate framing or the CONNECT-first rule. */
function certainViolation(bytes: Buffer, first: boolean): boolean {
  if (bytes.length < 2) return false;
  // the first frame's header
  let i = 1;
  let len = 0;
  let mul = 1;
  for (; i <= 4; i++) {
    if (i >= bytes.length) return false;
    len += (bytes[i]! & 127) * mul;
    mul *= 128;
    if ((bytes[i]! & 128) === 0) break;
  }
  if (i > 4) return true; // five continuation bytes
  const total = i + 1 + len;
  if (total > 1_048_576) return true; // over STARLING_MAX_PACKET_SIZE's default
  if (total > bytes.length) return false; // the first frame is not complete
  const type = bytes[0]! >> 4;
  const flags = bytes[0]! & 15;
  if (first) return type !== 1 || flags !== 0; // [MQTT-3.1.0-1], [MQTT-2.2.2-2]
  // a second CONNECT [MQTT-3.1.0-2], a reserved type, or a packet only a server sends
  if (type === 0 || type === 1 || type === 2 || type === 9 || type === 11 || type === 13) return true;
  // reserved flag bits [MQTT-2.2.2-2]; PUBLISH with both QoS bits set [MQTT-3.3.1-4]
  if (type === 3) return (flags & 6) === 6;
  return flags !== (type === 6 || type === 8 || type === 10 ? 2 : 0);
}

function buildCases(rnd: () => number, n: number): Case[] {
  const versions: V[] = [3, 4, 5];
  const cases: Case[] = [];
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const connects = { 3: connectTemplates(3), 4: connectTemplates(4), 5: connectTemplates(5) };
  const sessions = { 3: sessionTemplates(3), 4: sessionTemplates(4), 5: sessionTemplates(5) };
  const split = (buf: Buffer): Buffer[] => {
    // sometimes deliver in several writes, to fuzz framing across chunks too
    if (rnd() < 0.7 || buf.length < 2) return [buf];
    const parts: Buffer[] = [];
    let off = 0;
    while (off < buf.length) {
      const len = 1 + Math.floor(rnd() * Math.min(buf.length - off, 16));
      parts.push(buf.subarray(off, off + len));
      off += len;
    }
    return parts;
  };
  const randomBytes = () => {
    const len = 1 + Math.floor(rnd() * (rnd() < 0.1 ? 2000 : 64));
    return Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
  };
  for (let i = 0; i < n; i++) {
    const v = pick(versions);
    const r = rnd();
    const hello = connectPacket(v, `fz-${i}`, { clean: true, properties: v === 5 ? { sessionExpiryInterval: 0 } : undefined });
    if (r < 0.12) {
      const bytes = randomBytes();
      cases.push({ kind: 'random-first', version: undefined, chunks: split(bytes), mustClose: certainViolation(bytes, true) });
    } else if (r < 0.24) {
      const bytes = randomBytes();
      cases.push({ kind: 'random-after-connect', version: v, chunks: [hello, ...split(bytes)], mustClose: certainViolation(bytes, false) });
    } else if (r < 0.55) {
      const { bytes, how } = mutate(rnd, pick(connects[v]));
      cases.push({ kind: `connect-${how}`, version: undefined, chunks: split(bytes), mustClose: certainViolation(bytes, true) });
    } else if (r < 0.95) {
      // a valid session, then one mutated packet among valid ones
      const tpl = sessions[v];
      const { bytes, how } = mutate(rnd, pick(tpl));
      const pre = rnd() < 0.5 ? [pick(tpl)] : [];
      // a DISCONNECT before the mutation would end the case early: leave it out there
      const pre2 = pre.filter((b) => b[0]! >> 4 !== 14);
      cases.push({ kind: `packet-${how}`, version: v, chunks: [hello, ...pre2, ...split(Buffer.concat([bytes, rnd() < 0.5 ? gen({ cmd: 'pingreq' }, v) : Buffer.alloc(0)]))], mustClose: certainViolation(bytes, false) });
    } else {
      // a second CONNECT after the first: a protocol violation [MQTT-3.1.0-2]
      cases.push({ kind: 'second-connect', version: v, chunks: [hello, connectPacket(v, `fz-again-${i}`)], mustClose: true });
    }
  }
  return cases;
}

interface Result {
  outcome: Outcome;
  received: Buffer;
}

function runCase(port: number, c: Case): Promise<Result> {
  return new Promise((resolve) => {
    const sock: Socket = netConnect({ host: '127.0.0.1', port, noDelay: true });
    const got: Buffer[] = [];
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let errored = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(hard);
      sock.destroy();
      resolve({ outcome, received: Buffer.concat(got) });
    };
    // a hard cap, whatever happens
    const wait = c.mustClose ? MUST_CLOSE_MS : CASE_MS;
    const hard = setTimeout(() => finish('alive'), wait + 3000);
    sock.on('data', (d: Buffer) => got.push(d));
    sock.on('error', () => {
      errored = true;
      finish('reset');
    });
    sock.on('close', () => finish(errored ? 'reset' : 'closed'));
    sock.on('end', () => finish('closed'));
    sock.on('connect', async () => {
      for (const chunk of c.chunks) {
        if (done || sock.destroyed) return;
        sock.write(chunk);
        if (c.chunks.length > 2) await new Promise((r) => setImmediate(r));
      }
      timer = setTimeout(() => finish('alive'), wait);
    });
  });
}

/** A valid CONNECT + PINGREQ on a fresh connection gets CONNACK (accepted) + PINGRESP; resolves with an error text or undefined. */
function canary(port: number, id: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = netConnect({ host: '127.0.0.1', port, noDelay: true });
    let got = Buffer.alloc(0);
    const want = Buffer.from([0x20, 0x02, 0x00, 0x00, 0xd0, 0x00]);
    const finish = (err: string | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => finish(`no CONNACK + PINGRESP within 3 s, got ${got.toString('hex')}`), 3000);
    sock.on('connect', () => sock.write(Buffer.concat([connectPacket(4, id), gen({ cmd: 'pingreq' }, 4)])));
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= want.length) finish(got.subarray(0, want.length).equals(want) ? undefined : `unexpected answer ${got.toString('hex')}`);
    });
    sock.on('error', (e) => finish(`socket error ${e.message}`));
    sock.on('close', () => finish(`closed, got ${got.toString('hex')}`));
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Whether what the broker sent parses as MQTT packets of the connection's version. */
function parsesAs(bytes: Buffer, v: V): string | undefined {
  const p = mqttPacket.parser({ protocolVersion: v });
  let err: string | undefined;
  p.on('error', (e: Error) => (err ??= e.message));
  p.parse(bytes);
  return err;
}

describe('fuzz: malformed and mutated packets against a broker process', { timeout: 120_000 }, () => {
  let node: NodeProcess;

  before(async () => {
    node = await startNode({
      name: 'fuzz',
      env: {
        STARLING_NODE_NAME: 'fuzz@127.0.0.1',
        STARLING_WS_PORT: '-1',
        // fuzzed sessions must not pile up: small queues, short 3.x persistence
        STARLING_MAX_MQUEUE: '10',
        STARLING_SESSION_EXPIRY_INTERVAL: '1',
        STARLING_SYS_INTERVAL_MS: '0',
        STARLING_SYS_HEARTBEAT_MS: '0',
      },
    });
  });

  after(async () => {
    await node?.stop(3000);
  });

  it(`${CASES} seeded cases (seed ${SEED}) end closed or alive, and the broker survives`, async () => {
    const rnd = prng(SEED);
    const cases = buildCases(rnd, CASES);
    const tally = new Map<string, number>();
    const byKind = new Map<string, Record<Outcome, number>>();
    const violations: string[] = [];
    const badResponses: string[] = [];
    const canaries: string[] = [];
    let next = 0;
    const t0 = Date.now();
    const worker = async () => {
      while (next < cases.length) {
        const i = next++;
        const c = cases[i]!;
        const r = await runCase(node.mqttPort, c);
        tally.set(r.outcome, (tally.get(r.outcome) ?? 0) + 1);
        const k = c.kind.split('-')[0]!;
        const row = byKind.get(k) ?? { closed: 0, reset: 0, alive: 0 };
        row[r.outcome]++;
        byKind.set(k, row);
        if (c.mustClose && r.outcome === 'alive') violations.push(`case ${i} (${c.kind}): ${Buffer.concat(c.chunks).toString('hex').slice(0, 200)}`);
        if (c.version !== undefined && r.received.length > 0) {
          const err = parsesAs(r.received, c.version);
          if (err) badResponses.push(`case ${i} (${c.kind}, v${c.version}): ${err}: ${r.received.toString('hex').slice(0, 200)}`);
        }
        if (i % 250 === 249) {
          // a canary: the broker still serves a valid client in the middle of the storm
          assert.ok(node.proc.alive, `broker died during case ${i}:\n${node.proc.tail()}`);
          const err = await canary(node.mqttPort, `canary-${i}`);
          if (err) canaries.push(`after case ${i}: ${err}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    const summary = [...byKind].map(([k, r]) => `${k}: closed ${r.closed}, reset ${r.reset}, alive ${r.alive}`).join('; ');
    const mustClose = cases.filter((c) => c.mustClose).length;
    console.log(
      `fuzz: ${cases.length} cases in ${secs} s (seed ${SEED}): closed ${tally.get('closed') ?? 0}, reset ${tally.get('reset') ?? 0}, alive ${tally.get('alive') ?? 0} | ${summary} | ` +
        `${mustClose} certain protocol violations, ${violations.length} left open | ${canaries.length} canaries unserved`,
    );

    assert.equal([...tally.values()].reduce((a, b) => a + b, 0), cases.length);
    assert.ok(node.proc.alive, `the broker died:\n${node.proc.tail()}`);
    const uncaught = node.logEntries().filter((e) => e.msg === 'uncaught exception' || (typeof e.level === 'number' && e.level >= 50));
    assert.deepEqual(
      uncaught.map((e) => JSON.stringify(e).slice(0, 600)),
      [],
      'the broker logged errors',
    );
    assert.deepEqual(canaries.slice(0, 5), [], `${canaries.length} canary clients were not served`);
    assert.deepEqual(violations.slice(0, 10), [], `${violations.length} protocol violations left open`);
    assert.deepEqual(badResponses.slice(0, 10), [], `${badResponses.length} responses that are not valid MQTT`);
    // the mix really exercised both endings
    assert.ok((tally.get('closed') ?? 0) + (tally.get('reset') ?? 0) > cases.length / 4);
    assert.ok((tally.get('alive') ?? 0) > cases.length / 20);
  });

  for (const protocolVersion of [4, 5] as const) {
    it(`afterwards a well-behaved MQTT ${protocolVersion === 5 ? '5' : '3.1.1'} client connects, subscribes, publishes and receives`, async () => {
      assert.ok(node.proc.alive);
      let sub: MqttClient | undefined;
      let pub: MqttClient | undefined;
      try {
        const opts = { protocolVersion, reconnectPeriod: 0, connectTimeout: 5000 } as const;
        sub = await withTimeout(connectAsync(`mqtt://127.0.0.1:${node.mqttPort}`, { ...opts, clientId: `healthy-sub-${protocolVersion}` }), 5000, 'subscriber connect');
        pub = await withTimeout(connectAsync(`mqtt://127.0.0.1:${node.mqttPort}`, { ...opts, clientId: `healthy-pub-${protocolVersion}` }), 5000, 'publisher connect');
        const topic = `healthy/${protocolVersion}`;
        await withTimeout(sub.subscribeAsync(`${topic}/#`, { qos: 1 }), 5000, 'subscribe');
        const got: string[] = [];
        const all = new Promise<void>((resolve) =>
          sub!.on('message', (t, payload) => {
            if (t.startsWith(topic)) got.push(payload.toString());
            if (got.length === 30) resolve();
          }),
        );
        for (let i = 0; i < 30; i++) await withTimeout(pub.publishAsync(`${topic}/x`, `m${i}`, { qos: (i % 3) as 0 | 1 | 2 }), 5000, `publish ${i}`);
        await withTimeout(all, 5000, `receiving (got ${got.length}/30)`);
        assert.deepEqual(
          got,
          Array.from({ length: 30 }, (_, i) => `m${i}`),
        );
      } finally {
        await sub?.endAsync(true);
        await pub?.endAsync(true);
      }
    });
  }
});
