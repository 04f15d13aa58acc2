// Reliable forwards to a node found dead (docs/forwarding.md, "Rerouting"): with a taker for
// them they are held, the flush waiting, until rerouted (the flush resolves once the copy is
// confirmed by its new node) or released (dropped: the flush fails with ForwardLostError).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ForwardLostError } from '../../node/cluster/forwarding/flush.js';
import type { NatsForwarderOptions } from '../../node/cluster/forwarding/nats-forwarder.js';
import { NatsTransport } from '../../node/cluster/forwarding/nats-transport.js';
import { forwardSubject } from '../../node/cluster/forwarding/subjects.js';
import { BATCH_HEADER, ENTRY_HEADER } from '../../node/cluster/forwarding/wire.js';
import { connect as connectNats } from '@nats-io/transport-node';
import type { ForwardTarget, HeldForward } from '../../node/cluster/forwarding/transport.js';
import { killAll } from '../support/processes.js';
import { startNats, type Service } from '../support/services.js';
import { eventually, sleep } from '../support/wait.js';

after(() => killAll(500));

let nodeSeq = 0;
const nodeName = (tag: string) => `starling-${tag}-${++nodeSeq}@10.0.0.1`;

describe('NATS transport: forwards to a dead node are held for a new route', () => {
  const services: Service[] = [];
  const transports: NatsTransport[] = [];
  after(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await Promise.all(services.map((s) => s.stop('SIGKILL')));
  });
  /** A NATS server, a sender (with `opts`) and a receiver; the sender's held forwards are collected. */
  async function setup(opts: NatsForwarderOptions = {}): Promise<{ url: string; sender: NatsTransport; receiver: NatsTransport; held: HeldForward[] }> {
    const nats = await startNats();
    services.push(nats);
    const make = async (name: string, o: NatsForwarderOptions) => {
      const t = new NatsTransport({ url: nats.url, name, flushTimeoutMs: 10_000, ...o });
      transports.push(t);
      await t.start();
      return t;
    };
    const sender = await make(nodeName('sender'), opts);
    const receiver = await make(nodeName('receiver'), {});
    const held: HeldForward[] = [];
    sender.onUnreachable((h) => held.push(...h));
    return { url: nats.url, sender, receiver, held };
  }

  it('held, then rerouted: the flush resolves once the new node confirmed the copies, in order', async () => {
    const { sender, receiver, held } = await setup();
    const dead = nodeName('dead');
    const alive = nodeName('alive');
    const got: ForwardTarget[] = [];
    await receiver.onForward(alive, (target) => void got.push(target));
    for (let i = 0; i < 5; i++) sender.forward(dead, { kind: 'route', filter: `r/${i}` }, new Uint8Array([i]), true);
    let flushed = false;
    const flush = sender.flush().then(() => (flushed = true));
    await eventually(() => assert.equal(held.length, 5), 3_000);
    assert.deepEqual(
      held.map((h) => [h.node, h.target.filter, [...h.encoded]]),
      [0, 1, 2, 3, 4].map((i) => [dead, `r/${i}`, [i]]),
    );
    await sleep(200);
    assert.equal(flushed, false, 'the flush waits for the held forwards');
    for (const h of held) sender.reroute(h, alive);
    await flush;
    assert.deepEqual(
      got.map((t) => t.filter),
      ['r/0', 'r/1', 'r/2', 'r/3', 'r/4'],
    );
    assert.ok(held.every((h) => h.settled));
  });

  it('a flush for a live node resolves while forwards to a dead node are held; the dead node\'s flush waits for them', async () => {
    const { sender, receiver, held } = await setup();
    const dead = nodeName('dead');
    const alive = nodeName('alive');
    const got: number[] = [];
    await receiver.onForward(alive, (_t, encoded) => void got.push(encoded[0]!));
    for (let i = 0; i < 3; i++) sender.forward(dead, { kind: 'route' }, new Uint8Array([i]), true);
    let deadFlushed = false;
    const deadFlush = sender.flush(dead).then(() => (deadFlushed = true));
    await eventually(() => assert.equal(held.length, 3), 3_000);
    // a publisher whose message goes to a live node: not held behind them
    for (let i = 10; i < 13; i++) {
      sender.forward(alive, { kind: 'route' }, new Uint8Array([i]), true);
      await sender.flush(alive);
    }
    assert.deepEqual(got, [10, 11, 12]);
    assert.equal(deadFlushed, false, 'the dead node\'s flush waits for its held forwards');
    assert.ok(held.every((h) => !h.settled));
    for (const h of held) sender.reroute(h, alive);
    await deadFlush;
    assert.deepEqual(got, [10, 11, 12, 0, 1, 2]);
  });

  it('a copy held in turn and rerouted again settles the frame it was first held for', async () => {
    const { sender, receiver, held } = await setup();
    const dead = nodeName('dead');
    const alive = nodeName('alive');
    const got: number[] = [];
    await receiver.onForward(alive, (_t, encoded) => void got.push(encoded[0]!));
    sender.forward(dead, { kind: 'route' }, new Uint8Array([7]), true);
    const deadFlush = sender.flush(dead);
    await eventually(() => assert.equal(held.length, 1), 3_000);
    // sent to the same node again (still live by its heartbeat, as reroute.ts does), held behind the first
    sender.reroute(held[0]!, dead);
    await eventually(() => assert.equal(held.length, 2), 3_000);
    sender.reroute(held[1]!, alive);
    await deadFlush;
    assert.deepEqual(got, [7]);
    assert.ok(held.every((h) => h.settled));
    // nothing is left for the first node: a flush for it resolves
    await sender.flush(dead);
  });

  it('a rerouted copy lost to the memory bound fails the flush of the node it was held for', async () => {
    const { sender, held } = await setup({ maxUnconfirmedBytes: 4096 });
    const dead = nodeName('dead');
    const alsoDead = nodeName('also-dead');
    sender.forward(dead, { kind: 'route' }, new Uint8Array(100), true);
    const deadFlush = sender.flush(dead);
    await eventually(() => assert.equal(held.length, 1), 3_000);
    // rerouted to a node nobody listens for either, then pushed out by the memory bound
    sender.reroute(held[0]!, alsoDead);
    for (let i = 0; i < 3; i++) sender.forward(alsoDead, { kind: 'route' }, new Uint8Array(2000), true);
    await assert.rejects(deadFlush, ForwardLostError);
  });

  it('a frame sent again is marked as a copy (a restarted receiver\'s restored sessions skip what they have)', async () => {
    const { url, sender } = await setup({ ackTimeoutMs: 300 });
    const node = nodeName('mute');
    // a listener that answers probes and never acknowledges: the sender sends its frame again
    const spy = await connectNats({ servers: url });
    const flags: number[] = [];
    spy.subscribe(forwardSubject(node), {
      callback: (_err, m) => {
        if (m.data.length === 0) m.respond(new Uint8Array(0));
        else flags.push(m.data[BATCH_HEADER + ENTRY_HEADER]!);
      },
    });
    await spy.flush();
    try {
      sender.forward(node, { kind: 'route' }, new Uint8Array([1]), true);
      await eventually(() => assert.ok(flags.length >= 2), 5_000);
      assert.equal(flags[0]! & 16, 0, 'the first send is no copy');
      assert.equal(flags[1]! & 16, 16, 'the resend is marked (flag bit 4)');
    } finally {
      await spy.close();
    }
  });

  it('a node of the same name started again: its acknowledgements confirm what it got, not the held forwards', async () => {
    const { sender, receiver, held } = await setup();
    const node = nodeName('restarted');
    for (let i = 0; i < 3; i++) sender.forward(node, { kind: 'route', filter: `r/${i}` }, new Uint8Array([i]), true);
    const early = sender.flush();
    await eventually(() => assert.equal(held.length, 3), 3_000);
    const got: ForwardTarget[] = [];
    await receiver.onForward(node, (target) => void got.push(target));
    for (let i = 3; i < 6; i++) sender.forward(node, { kind: 'route', filter: `r/${i}` }, new Uint8Array([i]), true);
    await eventually(() => assert.equal(got.length, 3), 3_000);
    assert.deepEqual(
      got.map((t) => t.filter),
      ['r/3', 'r/4', 'r/5'],
    );
    await sleep(200);
    assert.ok(held.every((h) => !h.settled), 'the held forwards are still held');
    for (const h of held) sender.reroute(h, node);
    await early;
    await sender.flush();
    assert.deepEqual(
      got.map((t) => t.filter),
      ['r/3', 'r/4', 'r/5', 'r/0', 'r/1', 'r/2'],
    );
    assert.ok(got.slice(3).every((t) => t.rerouted));
  });

  it('released as delivered: the flush resolves; released as lost: it fails with ForwardLostError', async () => {
    const { sender, held } = await setup();
    const dead = nodeName('dead');
    sender.forward(dead, { kind: 'route', filter: 'r/0' }, new Uint8Array([0]), true);
    const first = sender.flush();
    await eventually(() => assert.equal(held.length, 1), 3_000);
    sender.release(held[0]!, true);
    await first;
    sender.forward(dead, { kind: 'route', filter: 'r/1' }, new Uint8Array([1]), true);
    const second = sender.flush();
    await eventually(() => assert.equal(held.length, 2), 3_000);
    sender.release(held[1]!, false);
    await assert.rejects(second, ForwardLostError);
    // what comes later does not fail for it
    await sender.flush();
  });
});
