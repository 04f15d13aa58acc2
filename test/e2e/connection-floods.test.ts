// Connection-level attacks against real node processes: slow-loris sockets that never send
// CONNECT, floods past max_conns, and connection rates over STARLING_MAX_CONN_RATE (per
// listener) and STARLING_MAX_CONN_RATE_PER_IP. Each is refused or closed and counted in the
// listener's shutdown_count, and well-behaved clients keep being served.
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import * as mqttPacket from 'mqtt-packet';
import { startNode, type NodeProcess } from '../support/broker.js';
import { api } from '../support/gateway.js';
import { HOST, openClient, uid, within, type Scope } from '../support/mqtt5.js';
import { eventually, sleep } from '../support/wait.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));

const IDLE_TIMEOUT_MS = 1000;
const MAX_CONNS = 20;
const RATE = 5;

let lorisNode: NodeProcess | undefined;
let connsNode: NodeProcess | undefined;
let perIpNode: NodeProcess | undefined;
let listenerRateNode: NodeProcess | undefined;

before(async () => {
  const started = await Promise.allSettled([
    startNode({
      name: 'loris',
      env: { STARLING_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS), STARLING_TLS_CERT: fixture('tls-cert.pem'), STARLING_TLS_KEY: fixture('tls-key.pem'), STARLING_MQTTS_PORT: '0' },
    }),
    startNode({ name: 'flood', env: { STARLING_MAX_CONNS: String(MAX_CONNS) } }),
    startNode({ name: 'rate-ip', env: { STARLING_MAX_CONN_RATE_PER_IP: String(RATE) } }),
    startNode({
      name: 'rate-listener',
      env: { STARLING_MAX_CONN_RATE: String(RATE), STARLING_TLS_CERT: fixture('tls-cert.pem'), STARLING_TLS_KEY: fixture('tls-key.pem'), STARLING_MQTTS_PORT: '0' },
    }),
  ]);
  [lorisNode, connsNode, perIpNode, listenerRateNode] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
  for (const s of started) if (s.status === 'rejected') throw s.reason;
});

after(async () => {
  await Promise.all([lorisNode?.stop(), connsNode?.stop(), perIpNode?.stop(), listenerRateNode?.stop()]);
});

interface Sock {
  socket: Socket;
  /** bytes the broker sent */
  received: Buffer[];
  closed: Promise<void>;
  isClosed: boolean;
}

/** A plain TCP connection (optionally from another loopback address), destroyed when `scope` ends. */
async function openSocket(scope: Scope, port: number, localAddress?: string): Promise<Sock> {
  const socket = tcpConnect({ host: HOST, port, localAddress });
  scope.after(() => socket.destroy());
  const s: Sock = { socket, received: [], isClosed: false, closed: undefined as unknown as Promise<void> };
  socket.on('error', () => {}); // a reset is a close too
  socket.on('data', (d: Buffer) => s.received.push(d));
  s.closed = new Promise((resolve) =>
    socket.once('close', () => {
      s.isClosed = true;
      resolve();
    }),
  );
  await within(new Promise((resolve) => socket.once('connect', resolve)), 5000, `TCP connect to ${port}`);
  return s;
}

const connectBytes = (clientId: string): Buffer => mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 0 });

/** Sends CONNECT on `s`: whether a CONNACK accepting it comes before the broker closes the socket. */
async function accepted(s: Sock): Promise<boolean> {
  s.socket.write(connectBytes(`c-${uid(4)}`));
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const acked = new Promise<boolean>((resolve) => {
    parser.on('packet', (p) => resolve(p.cmd === 'connack' && p.returnCode === 0));
    for (const d of s.received) parser.parse(d);
    s.socket.on('data', (d: Buffer) => parser.parse(d));
  });
  return within(Promise.race([acked, s.closed.then(() => false)]), 5000, 'a CONNACK or a close');
}

/** The node's mqtt:tcp (or other) listener row (GET /api/v4/listeners). */
async function tcpListenerRow(node: NodeProcess, protocol = 'mqtt:tcp'): Promise<{ current_conns: number; shutdown_count: Record<string, number> | [] }> {
  const r = await api(`http://127.0.0.1:${node.listeners['http:management']}`, 'GET', '/api/v4/listeners');
  // one {node, listeners} per node
  const rows = (r.body as { data: { listeners: { protocol: string }[] }[] }).data.flatMap((n) => n.listeners);
  const row = rows.find((l) => l.protocol === protocol);
  assert.ok(row, JSON.stringify(r.body));
  return row as never;
}

const shutdowns = (row: { shutdown_count: Record<string, number> | [] }, reason: string): number => (Array.isArray(row.shutdown_count) ? 0 : (row.shutdown_count[reason] ?? 0));

/** A subscriber and a publisher that must work whatever else is going on. */
async function assertServed(t: Scope, port: number): Promise<void> {
  const topic = `ok/${uid()}`;
  const sub = await openClient(t, port);
  await sub.subscribe(topic, { qos: 1 });
  const pub = await openClient(t, port);
  await pub.publish(topic, 'served', { qos: 1 });
  assert.equal((await sub.next()).payload, 'served');
}

describe('slow-loris', () => {
  it(`300 sockets that never send CONNECT (or half of one) are all closed after STARLING_IDLE_TIMEOUT_MS=${IDLE_TIMEOUT_MS}; clients are served meanwhile`, async (t) => {
    const port = lorisNode!.mqttPort;
    const before = await tcpListenerRow(lorisNode!);
    const socks: Sock[] = [];
    for (let i = 0; i < 300; i++) {
      const s = await openSocket(t, port);
      if (i % 3 === 0) s.socket.write(connectBytes(`half-${i}`).subarray(0, 6)); // the header and a little
      socks.push(s);
    }
    // all of them are held open, yet a real client connects and works
    await assertServed(t, port);
    assert.ok((await tcpListenerRow(lorisNode!)).current_conns >= 300);
    await within(Promise.all(socks.map((s) => s.closed)), IDLE_TIMEOUT_MS + 10_000, 'every slow-loris socket to be closed');
    assert.equal(socks.filter((s) => s.received.length > 0).length, 0, 'nothing was sent to them');
    const row = await eventually(async () => {
      const r = await tcpListenerRow(lorisNode!);
      assert.ok(shutdowns(r, 'idle_timeout') - shutdowns(before, 'idle_timeout') >= 300, JSON.stringify(r));
      return r;
    });
    assert.equal(row.current_conns, before.current_conns + 2, 'every slot is free again (but the served pair\'s)');
    await assertServed(t, port);
  });
  it('on the WebSocket and TLS ports, a socket that never finishes its upgrade or handshake is closed by the same timeout; connected clients stay', async (t) => {
    const ws = lorisNode!.wsPort;
    const tls = lorisNode!.listeners['mqtt:ssl']!;
    const silentWs = await openSocket(t, ws);
    const halfUpgrade = await openSocket(t, ws);
    halfUpgrade.socket.write('GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // the headers never end
    const silentTls = await openSocket(t, tls);
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${ws}/mqtt`, { keepalive: 0, reconnectPeriod: 0, clientId: `ws-${uid()}` });
    t.after(() => client.end(true));
    await within(Promise.all([silentWs.closed, halfUpgrade.closed, silentTls.closed]), IDLE_TIMEOUT_MS + 10_000, 'the half-open sockets to be closed');
    // the MQTT client over WebSocket is past its CONNECT: well beyond the timeout, it still works
    await sleep(IDLE_TIMEOUT_MS + 1500);
    assert.equal(client.connected, true);
    const topic = `ws/${uid()}`;
    await client.subscribeAsync(topic, { qos: 1 });
    const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
    await client.publishAsync(topic, 'over ws', { qos: 1 });
    assert.equal(await within(got, 5000, 'the message over WebSocket'), 'over ws');
  });
});

describe(`STARLING_MAX_CONNS=${MAX_CONNS}`, () => {
  it('a flood of 60 concurrent connections: 20 are accepted, 40 closed before any MQTT and counted as max_conns', async (t) => {
    const port = connsNode!.mqttPort;
    const before = await tcpListenerRow(connsNode!);
    const socks = await Promise.all(Array.from({ length: 60 }, () => openSocket(t, port)));
    const results = await Promise.all(socks.map(accepted));
    assert.equal(results.filter(Boolean).length, MAX_CONNS);
    for (const [i, s] of socks.entries()) if (!results[i]) await s.closed;
    const row = await eventually(async () => {
      const r = await tcpListenerRow(connsNode!);
      assert.equal(shutdowns(r, 'max_conns') - shutdowns(before, 'max_conns'), 60 - MAX_CONNS, JSON.stringify(r));
      return r;
    });
    assert.equal(row.current_conns, MAX_CONNS);
    // freed slots are taken again
    for (const s of socks) s.socket.destroy();
    await eventually(async () => assert.equal((await tcpListenerRow(connsNode!)).current_conns, 0));
    await assertServed(t, port);
  });
});

describe('connection rate limits', () => {
  it(`STARLING_MAX_CONN_RATE_PER_IP=${RATE}: a burst of 30 from 127.0.0.1 gets about ${RATE} through; 127.0.0.2 is not held back; later the bucket refills`, async (t) => {
    const port = perIpNode!.mqttPort;
    const before = await tcpListenerRow(perIpNode!);
    const burst = await Promise.all(Array.from({ length: 30 }, () => openSocket(t, port, '127.0.0.1')));
    const ok = (await Promise.all(burst.map(accepted))).filter(Boolean).length;
    // the bucket holds RATE; a few more may have refilled while the burst was opened
    assert.ok(ok >= RATE && ok < 30, `${ok} of 30 accepted`);
    // another source address has its own bucket
    const other = await Promise.all(Array.from({ length: RATE }, () => openSocket(t, port, '127.0.0.2')));
    assert.deepEqual(await Promise.all(other.map(accepted)), Array(RATE).fill(true));
    const row = await tcpListenerRow(perIpNode!);
    assert.equal(shutdowns(row, 'conn_rate_limit') - shutdowns(before, 'conn_rate_limit'), 30 - ok, JSON.stringify(row));
    // refilled, 127.0.0.1 connects again
    await eventually(async () => assert.equal(await accepted(await openSocket(t, port, '127.0.0.1')), true), 5000, 200);
  });

  it(`STARLING_MAX_CONN_RATE=${RATE}: the listener's bucket is shared by every address`, async (t) => {
    const port = listenerRateNode!.mqttPort;
    const a = await Promise.all(Array.from({ length: 15 }, () => openSocket(t, port, '127.0.0.1')));
    const b = await Promise.all(Array.from({ length: 15 }, () => openSocket(t, port, '127.0.0.3')));
    const ok = (await Promise.all([...a, ...b].map(accepted))).filter(Boolean).length;
    assert.ok(ok >= RATE && ok < 30, `${ok} of 30 accepted`);
    const row = await tcpListenerRow(listenerRateNode!);
    assert.equal(shutdowns(row, 'conn_rate_limit'), 30 - ok, JSON.stringify(row));
    await eventually(async () => assert.equal(await accepted(await openSocket(t, port)), true), 5000, 200);
  });

  it(`STARLING_MAX_CONN_RATE=${RATE} on the TLS and WebSocket ports: a burst is cut before any handshake or HTTP`, async (t) => {
    for (const [protocol, port] of [
      ['mqtt:ssl', listenerRateNode!.listeners['mqtt:ssl']!],
      ['mqtt:ws', listenerRateNode!.wsPort],
    ] as const) {
      // silent sockets: one admitted waits for its handshake, one refused is closed at once
      const socks = await Promise.all(Array.from({ length: 30 }, () => openSocket(t, port)));
      const refused = await eventually(async () => {
        const n = shutdowns(await tcpListenerRow(listenerRateNode!, protocol), 'conn_rate_limit');
        assert.ok(n >= 30 - 2 * RATE && n < 30, `${protocol}: ${n} of 30 refused`);
        return n;
      });
      // every refused one is closed; an admitted one may be too by now (its handshake timed out on a slow host)
      await eventually(() => {
        const closed = socks.filter((s) => s.isClosed).length;
        assert.ok(closed >= refused, `${protocol}: ${closed} closed, ${refused} refused`);
      });
      assert.equal(socks.filter((s) => s.received.length > 0).length, 0, `${protocol}: nothing was sent to them`);
    }
  });
});
