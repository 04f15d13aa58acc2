// Forwarding a Message (encoded by the transport into its batch) on both transports, and the
// NATS transport's backlog: forwards that are not reliable are dropped, not buffered without
// bound, while the server does not read; reliable ones are kept and arrive. From half of
// that bound behind the transport says it is backlogged, and onDrained() waits for the server.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { InProcessHub } from '../../shared/cluster/in-process-rpc.js';
import { InProcessTransport } from '../../node/cluster/forwarding/in-process.js';
import { decodeMessage, encodeMessage } from '../../shared/cluster/message-codec.js';
import { NatsTransport, type NatsTransportOptions } from '../../node/cluster/forwarding/nats-transport.js';
import type { ForwardTarget, Transport } from '../../node/cluster/forwarding/transport.js';
import type { Logger } from '../../shared/logger.js';
import { newMessage, type Message } from '../../shared/message.js';
import { killAll, suspendProcess } from '../support/processes.js';
import { startNats, type Service } from '../support/services.js';
import { eventually, sleep } from '../support/wait.js';

after(() => killAll(500));
const turn = () => new Promise<void>((r) => setImmediate(r));

interface Got {
  target: ForwardTarget;
  bytes: Buffer;
}

async function collect(t: Transport, node: string): Promise<Got[]> {
  const got: Got[] = [];
  // copied: what a listener keeps must not depend on the transport's buffer
  await t.onForward(node, (target, encoded) => void got.push({ target, bytes: Buffer.from(encoded) }));
  return got;
}

let seq = 0;
const nodeName = (tag: string) => `starling-${tag}-${++seq}@10.0.0.1`;

function messages(): Message[] {
  return [
    newMessage({ topic: 'a/b', payload: Buffer.from('hello'), qos: 0, retain: false, from: 'c1' }),
    newMessage({ topic: 'ü/日本/🐦', payload: Buffer.alloc(0), qos: 1, retain: true, from: 'cl€', fromUsername: 'us€r', expiresAt: Date.now() + 60_000 }),
    newMessage({
      topic: 't/props',
      payload: Buffer.alloc(3000, 7),
      qos: 2,
      retain: false,
      from: 'c3',
      properties: { contentType: 'x/y', correlationData: Buffer.from([1, 2, 3]), userProperties: { k: ['v1', 'v2'] } },
    }),
  ];
}

function forwardsMessages(name: string, make: () => Promise<Transport[]>, dispose: () => Promise<void>): void {
  it(`${name}: a Message forwarded arrives as its encoding, whatever the caller does with it afterwards`, async () => {
    try {
      const [receiver, sender] = await make();
      const node = nodeName('msg');
      const got = await collect(receiver!, node);
      const sent = messages();
      const expected = sent.map((m) => Buffer.from(encodeMessage(m)));
      const targets: ForwardTarget[] = [{ kind: 'route' }, { kind: 'shared', filter: 'ü/+/#', group: 'g' }, { kind: 'route', filter: 't/props' }];
      sent.forEach((m, i) => assert.equal(sender!.forward(node, targets[i]!, m, m.qos > 0), true));
      // the sender may change its message once forward() returned
      sent[2]!.payload.fill(0);
      sent[0]!.topic = 'changed';
      await sender!.flush();
      await eventually(() => assert.equal(got.length, 3), 3_000);
      assert.deepEqual(
        got.map((g) => g.target),
        targets,
      );
      got.forEach((g, i) => assert.ok(g.bytes.equals(expected[i]!), `message ${i} arrived as its encoding`));
      const decoded = got.map((g) => decodeMessage(g.bytes));
      assert.equal(decoded[0]!.topic, 'a/b');
      assert.equal(decoded[1]!.topic, 'ü/日本/🐦');
      assert.equal(decoded[1]!.fromUsername, 'us€r');
      assert.deepEqual(decoded[2]!.payload, Buffer.alloc(3000, 7));
      assert.deepEqual(decoded[2]!.properties?.correlationData, Buffer.from([1, 2, 3]));
    } finally {
      await dispose();
    }
  });
}

describe('forwarding a Message', () => {
  const made: Transport[] = [];
  const closeAll = async () => {
    await Promise.all(made.splice(0).map((t) => t.close()));
  };
  forwardsMessages(
    'in-process',
    async () => {
      const hub = new InProcessHub();
      const ts = [new InProcessTransport({ hub }), new InProcessTransport({ hub })];
      made.push(...ts);
      return ts;
    },
    closeAll,
  );
  let nats: Service | undefined;
  after(() => nats?.stop('SIGKILL'));
  forwardsMessages(
    'NATS',
    async () => {
      nats ??= await startNats();
      const ts = [new NatsTransport({ url: nats.url }), new NatsTransport({ url: nats.url })];
      made.push(...ts);
      await Promise.all(ts.map((t) => t.start()));
      return ts;
    },
    closeAll,
  );

  it('NATS: many forwards of one turn make several batches, in order, entries intact', async () => {
    nats ??= await startNats();
    const receiver = new NatsTransport({ url: nats.url });
    const sender = new NatsTransport({ url: nats.url });
    made.push(receiver, sender);
    await Promise.all([receiver.start(), sender.start()]);
    try {
      const node = nodeName('many');
      const got = await collect(receiver, node);
      // ~1 MB in one turn: 64 KB batches spread over several 256 KB slabs
      const N = 2_000;
      for (let i = 0; i < N; i++) {
        const m = newMessage({ topic: `m/${i}`, payload: Buffer.alloc(500, i & 255), qos: i % 2 === 0 ? 0 : 1, retain: false, from: `c${i % 7}` });
        assert.equal(sender.forward(node, { kind: 'route' }, m, m.qos > 0), true);
      }
      await sender.flush();
      await eventually(() => assert.equal(got.length, N), 5_000);
      got.forEach((g, i) => {
        const m = decodeMessage(g.bytes);
        assert.equal(m.topic, `m/${i}`);
        assert.equal(m.from, `c${i % 7}`);
        assert.ok(m.payload.equals(Buffer.alloc(500, i & 255)));
      });
    } finally {
      await closeAll();
    }
  });
});

/** A logger whose records the test can read. */
function captureLog(): { log: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, records };
}

describe('NATS transport: backlog', () => {
  const services: Service[] = [];
  const transports: NatsTransport[] = [];
  async function natsTransport(url: string, extra: Partial<NatsTransportOptions> = {}): Promise<NatsTransport> {
    const t = new NatsTransport({ url, name: `backlog-${transports.length}`, ...extra });
    transports.push(t);
    await t.start();
    return t;
  }
  after(async () => {
    for (const s of services) if (s.proc.alive) process.kill(s.proc.pid, 'SIGCONT');
    await Promise.all(transports.map((t) => t.close()));
    await Promise.all(services.map((s) => s.stop('SIGKILL')));
  });

  it('while the server reads nothing, forwards that are not reliable are dropped beyond maxBacklogBytes and reliable ones kept; both flow again once it reads', async (t) => {
    const nats = await startNats();
    services.push(nats);
    const cap = captureLog();
    const LIMIT = 256 * 1024;
    const receiver = await natsTransport(nats.url);
    const sender = await natsTransport(nats.url, { maxBacklogBytes: LIMIT, log: cap.log, flushTimeoutMs: 5_000 });
    const node = nodeName('backlog');
    const got = await collect(receiver, node);
    const payload = Buffer.alloc(1_000, 1);
    const msg = (topic: string, qos: 0 | 1) => newMessage({ topic, payload, qos, retain: false, from: 'pub' });

    await suspendProcess(nats.proc.pid);
    let accepted = 0;
    let refused = 0;
    let reliable = 0;
    try {
      // several I/O turns of 100 forwards each (~100 KB)
      for (let k = 0; k < 20; k++) {
        for (let i = 0; i < 100; i++) {
          if (sender.forward(node, { kind: 'route' }, msg(`u/${accepted + refused}`, 0))) accepted++;
          else refused++;
        }
        assert.equal(sender.forward(node, { kind: 'route' }, msg(`r/${reliable}`, 1), true), true, 'reliable forwards are never refused');
        reliable++;
        await turn();
      }
    } finally {
      process.kill(nats.proc.pid, 'SIGCONT');
    }
    t.diagnostic(`server stopped: ${accepted} forwards taken, ${refused} refused, ${reliable} reliable kept`);
    const entry = 1_000 + 40; // payload, message and entry headers, topic, clientid
    assert.ok(refused > 0, 'some forwards were refused');
    // what was published may exceed the limit by the batch that crossed it, and the batch open then
    assert.ok(accepted * entry <= LIMIT + 2 * 64 * 1024, `${accepted} accepted: ${accepted * entry} bytes for a ${LIMIT} limit`);
    const warn = cap.records.find((r) => r.level === 40 && /backlogged/.test(String(r.msg)));
    assert.ok(warn, 'a warning says forwards are dropped');

    // the server reads again: everything reliable arrives, and forwards are taken again
    await sender.flush();
    await eventually(() => assert.equal(got.filter((g) => decodeMessage(g.bytes).topic.startsWith('r/')).length, reliable), 5_000);
    let taken = 0;
    for (let k = 0; k < 200 && taken < 20; k++) {
      if (sender.forward(node, { kind: 'route', filter: 'after' }, msg('after', 0))) taken++;
      await sleep(5);
    }
    assert.equal(taken, 20, 'forwards flow again once the server reads');
    await sender.flush();
    await eventually(() => assert.equal(got.filter((g) => g.target.filter === 'after').length, 20), 3_000);
    const u = got.map((g) => decodeMessage(g.bytes).topic).filter((topic) => topic.startsWith('u/'));
    assert.equal(u.length, accepted, 'every forward taken arrived');
  });

  it('backlogged from half of maxBacklogBytes behind, before anything is dropped; onDrained calls back only once the server reads again', async () => {
    const nats = await startNats();
    services.push(nats);
    const LIMIT = 256 * 1024;
    const receiver = await natsTransport(nats.url);
    const sender = await natsTransport(nats.url, { maxBacklogBytes: LIMIT, flushTimeoutMs: 5_000 });
    const node = nodeName('drain');
    const got = await collect(receiver, node);
    const payload = Buffer.alloc(1_000, 2);
    let forwarded = 0;
    /** `n` forwards of ~1 KB that are not reliable, then a turn: the batches go out at its end */
    const forwardTurn = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const m = newMessage({ topic: `d/${forwarded}`, payload, qos: 0, retain: false, from: 'pub' });
        assert.equal(sender.forward(node, { kind: 'route' }, m), true, `forward ${forwarded} taken: below maxBacklogBytes nothing is dropped`);
        forwarded++;
      }
      await turn();
    };

    assert.equal(sender.backlogged, false, 'not backlogged at first');
    let soon = 0;
    sender.onDrained(() => soon++);
    await eventually(() => assert.equal(soon, 1, 'onDrained calls back on its own when not backlogged'), 2_000);

    let drained = 0;
    await suspendProcess(nats.proc.pid);
    try {
      // ~66 KB: a quarter of the limit behind is not backlogged
      await forwardTurn(64);
      assert.equal(sender.backlogged, false, `${forwarded} forwards of ~1 KB behind: not backlogged yet`);
      // ~170 KB: past half of the limit, below the limit (where nothing is dropped)
      await forwardTurn(100);
      assert.equal(sender.backlogged, true, `${forwarded} forwards of ~1 KB behind: backlogged`);
      sender.onDrained(() => drained++);
      // no PONG can come from a stopped server: the callback waits
      await sleep(300);
      assert.equal(drained, 0, 'onDrained has not called back while the server reads nothing');
      assert.equal(sender.backlogged, true, 'still backlogged while the server reads nothing');
    } finally {
      process.kill(nats.proc.pid, 'SIGCONT');
    }
    await eventually(() => assert.equal(drained, 1, 'onDrained called back once the server read again'), 5_000);
    assert.equal(sender.backlogged, false, 'not backlogged once drained');
    await eventually(() => assert.equal(got.length, forwarded, 'every forward arrived'), 5_000);
    assert.equal(drained, 1, 'called back once');
  });
});
