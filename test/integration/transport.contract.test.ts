// One contract, two transports: the in-process hub and NATS (a real nats-server) must behave
// alike wherever a node could tell. Then NATS-only tests of a server that dies and comes back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InProcessHub, InProcessRpcTransport } from '../../shared/cluster/in-process-rpc.js';
import { NatsRpcTransport } from '../../shared/cluster/nats/rpc.js';
import { InProcessTransport } from '../../node/cluster/forwarding/in-process.js';
import { pino } from 'pino';
import { NatsTransport, type NatsTransportOptions } from '../../node/cluster/forwarding/nats-transport.js';
import type { Logger } from '../../shared/logger.js';
import type { RequestHandler, RpcTransport } from '../../shared/cluster/rpc-transport.js';
import type { ForwardTarget, Transport } from '../../node/cluster/forwarding/transport.js';
import { RpcError, type RpcMethod } from '../../shared/rpc.js';
import { connect as connectNats } from '@nats-io/transport-node';
import { forwardSubject } from '../../node/cluster/forwarding/subjects.js';
import { freePort } from '../support/ports.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { killAll } from '../support/processes.js';
import { startNats, type Service } from '../support/services.js';
import { eventually, sleep } from '../support/wait.js';

// NATS going away must never surface as an unhandled rejection; collect them to assert on.
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

after(() => killAll(500));

/** Rejects if `p` has not settled within ms: a hang fails the test instead of stalling it. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms))),
  ]);
}

/** request() with an untyped method, for tests that only care about the transport. */
function call(t: RpcTransport, node: string, params: unknown, timeoutMs = 2_000, method = 'clients.get'): Promise<unknown> {
  return t.request(node, method as RpcMethod, params as never, timeoutMs);
}

async function expectRpcError(p: Promise<unknown>, code: number, ...parts: (string | RegExp)[]): Promise<RpcError> {
  const err = await p.then(
    (v) => assert.fail(`expected RpcError ${code}, got reply ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
  assert.equal(err.code, code, `code of ${err.message}`);
  for (const part of parts) {
    if (typeof part === 'string') assert.ok(err.message.includes(part), `${JSON.stringify(err.message)} should name ${part}`);
    else assert.match(err.message, part);
  }
  return err;
}

interface Received {
  target: ForwardTarget;
  bytes: number[];
}

async function collectForwards(t: Transport, node: string): Promise<Received[]> {
  const got: Received[] = [];
  await t.onForward(node, (target, encoded) => void got.push({ target, bytes: [...encoded] }));
  return got;
}

let nodeSeq = 0;
/** A fresh node name per use, shaped like real ones (dots and @), so tests never cross. */
const nodeName = (tag: string) => `starling-${tag}-${++nodeSeq}@10.0.0.${nodeSeq % 250}`;

interface Setup<T extends RpcTransport> {
  /** a new started transport, as another process would have */
  make(): Promise<T>;
  dispose(): Promise<void>;
}

/** Runs a test body with a maker of transports, closing every transport made afterwards. */
type WithTransports<T extends RpcTransport> = (body: (make: () => Promise<T>) => Promise<void>) => Promise<void>;

/** Closes every transport a test made, even when it fails. */
function scoped<T extends RpcTransport>(setup: () => Setup<T>): WithTransports<T> {
  return async (body) => {
    const made: T[] = [];
    try {
      await body(async () => {
        const t = await setup().make();
        made.push(t);
        return t;
      });
    } finally {
      await Promise.all(made.map((t) => t.close()));
    }
  };
}

/**
 * Runs `cases` against one implementation: the RPC half for the RPC transports a gateway or
 * a CLI uses, both halves for the transports of nodes.
 */
function contract<T extends RpcTransport>(name: string, createSetup: () => Promise<Setup<T>>, ...cases: ((withTransports: WithTransports<T>) => void)[]): void {
  describe(`transport contract: ${name}`, () => {
    let setup: Setup<T>;
    before(async () => {
      setup = await createSetup();
    });
    after(() => setup?.dispose());
    const withTransports = scoped(() => setup);
    for (const c of cases) c(withTransports);
  });
}

/** The RPC half of the contract. */
function rpcCases(withTransports: WithTransports<RpcTransport>): void {
  it('serve/request round trip with JSON params', () =>
    withTransports(async (make) => {
      const [server, client] = [await make(), await make()];
      const node = nodeName('rt');
      const seen: [string, unknown][] = [];
      const stored = { list: [1, 2, 3], nested: { s: 'ü' } };
      await server.serve(node, async (method, params) => {
        seen.push([method, structuredClone(params)]);
        (params as { clientid: string }).clientid = 'mutated by handler';
        return stored;
      });
      const params = { clientid: 'c1', when: new Date(0), nothing: undefined, n: null, deep: [{ a: 1 }] };
      const reply = (await call(client, node, params)) as typeof stored;
      // JSON semantics on both: a Date arrives as its ISO string, undefined members vanish
      assert.deepEqual(seen, [['clients.get', { clientid: 'c1', when: '1970-01-01T00:00:00.000Z', n: null, deep: [{ a: 1 }] }]]);
      assert.deepEqual(reply, stored);
      // no shared objects between caller and handler, in either direction
      assert.notEqual(reply, stored);
      reply.list.push(4);
      assert.deepEqual(stored.list, [1, 2, 3]);
      assert.equal(params.clientid, 'c1');
    }));

  it('undefined and scalar replies, and a node calling itself', () =>
    withTransports(async (make) => {
      const t = await make();
      const node = nodeName('self');
      await t.serve(node, async (_m, p) => (p as { v: unknown }).v);
      assert.equal(await call(t, node, { v: 7 }), 7);
      assert.equal(await call(t, node, { v: 'x' }), 'x');
      assert.equal(await call(t, node, { v: null }), null);
      assert.equal(await call(t, node, {}), undefined);
      assert.equal(await call(t, node, { v: false }), false);
    }));

  it('the handler runs and the reply arrives asynchronously, never in the calling tick', () =>
    withTransports(async (make) => {
      const [server, client] = [await make(), await make()];
      const node = nodeName('async');
      let calls = 0;
      await server.serve(node, async () => ++calls);
      let settled = false;
      const p = call(client, node, {}).finally(() => (settled = true));
      await Promise.resolve();
      assert.equal(calls, 0);
      assert.equal(settled, false);
      assert.equal(await p, 1);
    }));

  it('error codes pass through; other throws are 102 with their message', () =>
    withTransports(async (make) => {
      const [server, client] = [await make(), await make()];
      const node = nodeName('err');
      await server.serve(node, async (_m, p) => {
        const kind = (p as { kind: string }).kind;
        if (kind === 'rpc') throw new RpcError(104, 'client not found');
        if (kind === 'rpc101') throw new RpcError(101, 'inner node down');
        if (kind === 'error') throw new Error('boom');
        if (kind === 'string') throw 'plain string';
        if (kind === 'bigint') return { n: 1n };
        return 'ok';
      });
      const e104 = await expectRpcError(call(client, node, { kind: 'rpc' }), 104, 'client not found');
      assert.equal(e104.message, 'client not found');
      assert.equal(e104.node, node);
      await expectRpcError(call(client, node, { kind: 'rpc101' }), 101, 'inner node down');
      const e102 = await expectRpcError(call(client, node, { kind: 'error' }), 102, 'boom');
      assert.equal(e102.node, node);
      await expectRpcError(call(client, node, { kind: 'string' }), 102, 'plain string');
      // a reply JSON can't carry is the handler's fault: 102, not a hang
      await expectRpcError(call(client, node, { kind: 'bigint' }), 102, 'not serializable');
      assert.equal(await call(client, node, { kind: 'fine' }), 'ok');
    }));

  it('params JSON cannot carry are rejected as 102 without sending', () =>
    withTransports(async (make) => {
      const t = await make();
      const node = nodeName('bad-params');
      let calls = 0;
      await t.serve(node, async () => ++calls);
      await expectRpcError(call(t, node, { n: 1n }), 102, 'BigInt');
      assert.equal(calls, 0);
    }));

  it('unknown node → 101 naming it, within the timeout', () =>
    withTransports(async (make) => {
      const client = await make();
      const node = nodeName('nobody');
      const t0 = Date.now();
      await expectRpcError(within(call(client, node, {}, 500), 1_500, 'request'), 101, node);
      assert.ok(Date.now() - t0 <= 700, `took ${Date.now() - t0} ms`);
    }));

  it('handler slower than the timeout → 101 in time', () =>
    withTransports(async (make) => {
      const [server, client] = [await make(), await make()];
      const node = nodeName('slow');
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      await server.serve(node, async () => {
        await released;
        return 'late';
      });
      try {
        const t0 = Date.now();
        await expectRpcError(within(call(client, node, {}, 300), 1_500, 'request'), 101, node, 'timeout');
        const took = Date.now() - t0;
        assert.ok(took >= 250 && took <= 700, `took ${took} ms`);
      } finally {
        release();
      }
    }));

  it('a closed transport no longer answers, and cannot call', () =>
    withTransports(async (make) => {
      const [server, client] = [await make(), await make()];
      const node = nodeName('closed');
      await server.serve(node, async () => 'here');
      assert.equal(await call(client, node, {}), 'here');
      await server.close();
      await expectRpcError(within(call(client, node, {}, 500), 1_500, 'request'), 101, node);
      await client.close();
      await expectRpcError(within(call(client, node, {}, 500), 1_500, 'request'), 101, node);
    }));
}

/** The forwarding half of the contract. */
function forwardCases(withTransports: WithTransports<Transport>): void {
  it('forward delivers target and bytes exactly to the addressed node, in order, and not to others', () =>
    withTransports(async (make) => {
      const [a, b, sender] = [await make(), await make(), await make()];
      const [nodeA, nodeB] = [nodeName('fa'), nodeName('fb')];
      const gotA = await collectForwards(a, nodeA);
      const gotB = await collectForwards(b, nodeB);
      const buf = new Uint8Array([0, 1, 2, 255, 0x7e, 0x2e]);
      const shared: ForwardTarget = { kind: 'shared', filter: 'a/+/ü c/#', group: 'g.1' };
      sender.forward(nodeA, shared, buf);
      buf[0] = 99; // the sender may reuse its buffer once forward() returned
      assert.equal(gotA.length, 0, 'delivered within the calling tick');
      sender.forward(nodeA, { kind: 'route' }, new Uint8Array(0));
      sender.forward(nodeA, { kind: 'route', filter: '' }, new Uint8Array([1]));
      for (let i = 0; i < 50; i++) sender.forward(nodeA, { kind: 'route', filter: `t/${i}` }, new Uint8Array([i]));
      await sender.flush();
      await eventually(() => assert.equal(gotA.length, 53), 3_000);
      await sleep(100); // anything stray would have arrived by now
      assert.equal(gotA.length, 53);
      assert.deepEqual(gotA[0], { target: { kind: 'shared', filter: 'a/+/ü c/#', group: 'g.1' }, bytes: [0, 1, 2, 255, 0x7e, 0x2e] });
      assert.deepEqual(gotA[1], { target: { kind: 'route' }, bytes: [] });
      assert.deepEqual(gotA[2], { target: { kind: 'route', filter: '' }, bytes: [1] });
      assert.deepEqual(
        gotA.slice(3).map((r) => r.target.filter),
        Array.from({ length: 50 }, (_, i) => `t/${i}`),
      );
      assert.deepEqual(gotB, []);
      // a forward to a node nobody listens for vanishes quietly
      sender.forward(nodeName('nobody'), { kind: 'route' }, new Uint8Array([1]));
      await sender.flush();
    }));

  it('reliable and other forwards keep one order, and flush resolves once they went through', () =>
    withTransports(async (make) => {
      const [a, sender] = [await make(), await make()];
      const node = nodeName('reliable');
      const got = await collectForwards(a, node);
      for (let i = 0; i < 30; i++) sender.forward(node, { kind: 'route', filter: `m/${i}` }, new Uint8Array([i]), i % 3 !== 0);
      await within(sender.flush(), 2_500, 'flush');
      await eventually(() => assert.equal(got.length, 30), 3_000);
      assert.deepEqual(
        got.map((r) => [r.target.filter, r.bytes[0]]),
        Array.from({ length: 30 }, (_, i) => [`m/${i}`, i]),
      );
    }));

  it('every listener of a node gets its own copy', () =>
    withTransports(async (make) => {
      const [a, sender] = [await make(), await make()];
      const node = nodeName('copies');
      // what each listener saw on arrival; either may run first
      const seen: number[] = [];
      await a.onForward(node, (_t, bytes) => {
        seen.push(bytes[0]!);
        bytes[0] = 42; // must not affect the other listener
      });
      await a.onForward(node, (_t, bytes) => {
        seen.push(bytes[0]!);
        bytes[0] = 43;
      });
      sender.forward(node, { kind: 'route' }, new Uint8Array([7]));
      await eventually(() => assert.equal(seen.length, 2), 3_000);
      assert.deepEqual(seen, [7, 7]);
    }));

  it('flush resolves, with and without forwards in flight', () =>
    withTransports(async (make) => {
      const t = await make();
      await within(t.flush(), 2_500, 'flush');
      for (let i = 0; i < 100; i++) t.forward(nodeName('flush'), { kind: 'route' }, new Uint8Array(100));
      await within(Promise.all([t.flush(), t.flush()]), 2_500, 'flush');
      assert.equal(t.connected, true);
    }));

  it('node names with dots, @, wildcards, spaces and unicode work', () =>
    withTransports(async (make) => {
      const [server, client] = [await make(), await make()];
      const names = ['emqx@host.example.com', 'starling@10.0.0.5', 'ノード@例え.jp', 'a b*c>d~e.f', '🐦@x', `n${nodeSeq}`];
      const got = new Map<string, Received[]>();
      for (const n of names) {
        await server.serve(n, async () => n);
        got.set(n, await collectForwards(server, n));
      }
      for (const n of names) {
        assert.equal(await call(client, n, {}), n);
        client.forward(n, { kind: 'route', filter: n }, new Uint8Array([1]));
      }
      await eventually(() => {
        for (const n of names) assert.deepEqual(got.get(n), [{ target: { kind: 'route', filter: n }, bytes: [1] }]);
      }, 3_000);
    }));

}

contract('in-process', async () => {
  const hub = new InProcessHub();
  return {
    async make() {
      const t = new InProcessTransport({ hub });
      await t.start();
      return t;
    },
    async dispose() {},
  };
}, rpcCases, forwardCases);

contract('NATS', async () => {
  const nats = await startNats();
  let n = 0;
  return {
    async make() {
      const t = new NatsTransport({ url: nats.url, name: `contract-${++n}` });
      await within(t.start(), 5_000, 'start');
      return t;
    },
    dispose: () => nats.stop(),
  };
}, rpcCases, forwardCases);

// the RPC transports of a gateway or a CLI, without forwarding
contract('in-process RPC', async () => {
  const hub = new InProcessHub();
  return {
    async make() {
      const t = new InProcessRpcTransport(hub);
      await t.start();
      return t;
    },
    async dispose() {},
  };
}, rpcCases);

contract('NATS RPC', async () => {
  const nats = await startNats();
  let n = 0;
  return {
    async make() {
      const t = new NatsRpcTransport({ url: nats.url, name: `contract-rpc-${++n}` });
      await within(t.start(), 5_000, 'start');
      return t;
    },
    dispose: () => nats.stop(),
  };
}, rpcCases);

describe('in-process transport', () => {
  it('one node is served once per hub; separate hubs are separate', async () => {
    const hub = new InProcessHub();
    const [a, b, other] = [new InProcessTransport({ hub }), new InProcessTransport({ hub }), new InProcessTransport({ hub: new InProcessHub() })];
    const handler: RequestHandler = async () => 'a';
    await a.serve('n@x', handler);
    await assert.rejects(b.serve('n@x', handler), /already served/);
    await expectRpcError(other.request('n@x', 'brokers.get', {}, 200), 101, 'n@x');
    await a.close();
    // the name is free again once its server is gone
    await b.serve('n@x', async () => 'b');
    assert.equal(await call(b, 'n@x', {}), 'b');
    await b.close();
  });
});

/**
 * nats-server processes and NATS transports a describe block starts, stopped after it
 * (servers with SIGKILL: the tests kill and restart them anyway).
 */
function natsPool(prefix: string): { services: Service[]; transports: NatsTransport[]; natsTransport: (url: string, extra?: Partial<NatsTransportOptions>) => Promise<NatsTransport> } {
  const services: Service[] = [];
  const transports: NatsTransport[] = [];
  after(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await Promise.all(services.map((s) => s.stop('SIGKILL')));
  });
  return {
    services,
    transports,
    async natsTransport(url, extra = {}) {
      const t = new NatsTransport({ url, name: `${prefix}-${transports.length}`, ...extra });
      transports.push(t);
      await within(t.start(), 5_000, 'start');
      return t;
    },
  };
}

describe('NATS transport: the server goes away', () => {
  const { services, transports, natsTransport } = natsPool('outage');

  it('nats-server killed mid-traffic: requests fail with 101 in time, nothing unhandled', async () => {
    const nats = await startNats();
    services.push(nats);
    const server = await natsTransport(nats.url, { flushTimeoutMs: 500 });
    const client = await natsTransport(nats.url, { flushTimeoutMs: 500 });
    const node = nodeName('kill');
    await server.serve(node, async () => 'pong');
    const forwarded = await collectForwards(server, node);

    const TIMEOUT = 400;
    const outcomes: { ok: boolean; took: number; err?: unknown }[] = [];
    const inflight: Promise<void>[] = [];
    let running = true;
    const traffic = (async () => {
      while (running) {
        const t0 = Date.now();
        inflight.push(
          call(client, node, {}, TIMEOUT).then(
            () => void outcomes.push({ ok: true, took: Date.now() - t0 }),
            (err: unknown) => void outcomes.push({ ok: false, took: Date.now() - t0, err }),
          ),
        );
        client.forward(node, { kind: 'route' }, new Uint8Array([1]));
        await sleep(5);
      }
    })();

    // one request held by its handler while the server dies: it must still settle in time
    const slowNode = nodeName('kill-slow');
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await server.serve(slowNode, async () => {
      await released;
      return 'late';
    });
    const held = expectRpcError(within(call(client, slowNode, {}, 800), 1_500, 'held request'), 101, slowNode);

    await sleep(200);
    await nats.stop('SIGKILL');
    await sleep(600);
    await within(
      (async () => {
        const flushErr = await client.flush().then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(flushErr instanceof Error, 'flush must reject while NATS is away');
      })(),
      1_000,
      'flush while NATS is down',
    );
    running = false;
    await traffic;
    await within(Promise.all(inflight), TIMEOUT + 500, 'requests in flight');
    await held;
    release();

    assert.equal(outcomes.length, inflight.length);
    const ok = outcomes.filter((o) => o.ok);
    const failed = outcomes.filter((o) => !o.ok);
    assert.ok(ok.length > 0, 'some requests succeeded before the kill');
    assert.ok(failed.length > 0, 'requests after the kill failed');
    for (const f of failed) {
      assert.ok(f.err instanceof RpcError && f.err.code === 101, `expected RpcError 101, got ${String(f.err)}`);
      assert.ok(f.err.message.includes(node), f.err.message);
      assert.ok(f.took <= TIMEOUT + 150, `a failed request took ${f.took} ms`);
    }
    assert.ok(forwarded.length > 0);
    assert.equal(client.connected, false);
    assert.equal(server.connected, false);
    await sleep(50);
    assert.deepEqual(unhandled, []);
  });

  it('after nats-server restarts on the same port, onReconnect fires and request/forward work again', async () => {
    const nats = await startNats();
    services.push(nats);
    const server = await natsTransport(nats.url);
    const client = await natsTransport(nats.url);
    let reconnects = 0;
    server.onReconnect(() => reconnects++);
    client.onReconnect(() => reconnects++);
    const node = nodeName('restart');
    await server.serve(node, async (_m, p) => p);
    const forwarded = await collectForwards(server, node);
    assert.deepEqual(await call(client, node, { a: 1 }), { a: 1 });

    await nats.stop('SIGKILL');
    await eventually(() => assert.equal(client.connected, false), 2_000);
    // not reliable: dropped while away
    client.forward(node, { kind: 'route' }, new Uint8Array([9]));
    await sleep(300);
    await nats.start();

    await eventually(() => assert.equal(reconnects, 2), 5_000);
    assert.equal(client.connected, true);
    assert.equal(server.connected, true);
    // the server's SUB may reach nats-server a moment after the client is back
    assert.deepEqual(await eventually(() => call(client, node, { b: 2 }, 500), 3_000), { b: 2 });

    await client.flush();
    client.forward(node, { kind: 'shared', group: 'g' }, new Uint8Array([2]));
    await client.flush();
    await eventually(() => assert.deepEqual(forwarded.at(-1), { target: { kind: 'shared', group: 'g' }, bytes: [2] }), 3_000);
    assert.ok(!forwarded.some((f) => f.bytes[0] === 9));
    assert.deepEqual(unhandled, []);
  });

  it('a node started while nats-server is down connects once it comes up', async () => {
    const nats = await startNats();
    services.push(nats);
    await nats.stop();

    const late = new NatsTransport({ url: nats.url, name: 'late', flushTimeoutMs: 500 });
    transports.push(late);
    const started = late.start();
    const node = nodeName('late');
    // registered now, subscribed on connecting
    const servedP = late.serve(node, async () => 'late but here');
    const forwarded = await collectForwards(late, node);
    await servedP;
    assert.equal(late.connected, false);
    const t0 = Date.now();
    await expectRpcError(within(call(late, node, {}, 1_000), 1_500, 'request'), 101, node, 'not connected');
    assert.ok(Date.now() - t0 < 200, 'fails fast while not connected');
    await assert.rejects(within(late.flush(), 1_000, 'flush'), /not connected/);
    late.forward(node, { kind: 'route' }, new Uint8Array([1])); // dropped, and must not throw
    late.forward(node, { kind: 'route' }, new Uint8Array([5]), true); // kept: sent on connecting

    await sleep(400);
    await nats.start();
    await within(started, 5_000, 'start() after NATS came up');
    assert.equal(late.connected, true);

    const other = await natsTransport(nats.url);
    assert.equal(await eventually(() => call(other, node, {}, 500), 3_000), 'late but here');
    await eventually(() => assert.deepEqual(forwarded, [{ target: { kind: 'route' }, bytes: [5] }]), 3_000);
    other.forward(node, { kind: 'route' }, new Uint8Array([3]));
    await eventually(() => assert.deepEqual(forwarded.at(-1), { target: { kind: 'route' }, bytes: [3] }), 3_000);
    assert.equal(forwarded.length, 2);
    assert.deepEqual(unhandled, []);
  });

  it('close() before NATS ever answered ends start() and the dialling', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const t = new NatsTransport({ url });
    const started = t.start().then(
      () => 'resolved',
      (e: unknown) => String(e),
    );
    await sleep(300);
    await within(t.close(), 2_000, 'close');
    assert.match(await within(started, 1_000, 'start'), /closed/);
    assert.equal(t.connected, false);
    assert.deepEqual(unhandled, []);
  });
});

/** A logger whose records the test can read. */
function captureLog(): { log: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, records };
}

/** The numbers of the forwards received whose filter is `${prefix}${n}`, in arrival order. */
function numbered(got: Received[], prefix: string): number[] {
  return got.filter((r) => r.target.filter?.startsWith(prefix)).map((r) => Number(r.target.filter!.slice(prefix.length)));
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

function assertIncreasing(xs: number[], what: string): void {
  for (let i = 1; i < xs.length; i++) assert.ok(xs[i]! > xs[i - 1]!, `${what}: ${xs[i]} after ${xs[i - 1]} (repeated or out of order)`);
}

/** How many entries a forward batch holds (16 bytes of header, then u32-length-prefixed entries). */
function entries(batch: Uint8Array): number {
  const view = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
  let n = 0;
  for (let p = 16; p + 4 <= view.length; p += 4 + view.readUInt32BE(p)) n++;
  return n;
}

/** flush() until one resolves (each may time out while the transport reconnects and resends). */
function flushedWithin(t: Transport, ms: number): Promise<void> {
  return eventually(() => t.flush(), ms, 0);
}

describe('NATS transport: reliable forwards across outages', () => {
  const { services, natsTransport } = natsPool('reliable');

  it('forwards made while nats-server is down: reliable ones arrive exactly once and in order after its restart, the others are dropped; flush waits for them, or rejects in time', async () => {
    const nats = await startNats();
    services.push(nats);
    const receiver = await natsTransport(nats.url);
    const sender = await natsTransport(nats.url, { flushTimeoutMs: 500 });
    const patient = await natsTransport(nats.url, { flushTimeoutMs: 10_000 });
    const node = nodeName('outage');
    const got = await collectForwards(receiver, node);
    sender.forward(node, { kind: 'route', filter: 'before' }, new Uint8Array([1]), true);
    await sender.flush();
    await eventually(() => assert.equal(got.length, 1));

    await nats.stop('SIGKILL');
    await eventually(() => assert.ok(!sender.connected && !patient.connected && !receiver.connected), 2_000);
    for (let i = 0; i < 200; i++) {
      sender.forward(node, { kind: 'route', filter: `r/${i}` }, new Uint8Array([i, i >> 8]), true);
      sender.forward(node, { kind: 'route', filter: `u/${i}` }, new Uint8Array([i, i >> 8]));
    }
    for (let i = 0; i < 10; i++) patient.forward(node, { kind: 'route', filter: `p/${i}` }, new Uint8Array([i]), true);
    // a flush made during the outage: rejects after its timeout, or waits for the resend
    const patientFlushed = patient.flush();
    const t0 = Date.now();
    await assert.rejects(within(sender.flush(), 1_500, 'flush while NATS is down'), /not connected/);
    const took = Date.now() - t0;
    assert.ok(took >= 450 && took < 1_000, `flush rejected after ${took} ms`);

    await nats.start();
    await within(patientFlushed, 5_000, 'a flush made during the outage');
    await within(flushedWithin(sender, 5_000), 6_000, 'flush after the restart');
    // (once flush resolved, the frames reached the server; the receiver gets them a moment later)
    await eventually(() => assert.equal(numbered(got, 'r/').length, 200), 3_000);
    await eventually(() => assert.equal(numbered(got, 'p/').length, 10), 3_000);
    await sleep(200); // repeats would have arrived by now
    assert.deepEqual(numbered(got, 'r/'), range(0, 200));
    assert.deepEqual(
      got.filter((r) => r.target.filter?.startsWith('r/')).map((r) => r.bytes),
      range(0, 200).map((i) => [i & 255, i >> 8]),
    );
    assert.deepEqual(numbered(got, 'p/'), range(0, 10));
    assert.deepEqual(numbered(got, 'u/'), [], 'forwards that are not reliable are dropped while disconnected');
    assert.equal(got.filter((r) => r.target.filter === 'before').length, 1);
    assert.deepEqual(unhandled, []);
  });

  it('forwards in flight when nats-server is killed: reliable ones arrive exactly once and in order, the others at most once', async (t) => {
    const nats = await startNats();
    services.push(nats);
    const receiver = await natsTransport(nats.url);
    const sender = await natsTransport(nats.url);
    const node = nodeName('inflight');
    const got = await collectForwards(receiver, node);
    let n = 0;
    let running = true;
    const traffic = (async () => {
      while (running) {
        for (let k = 0; k < 20; k++, n++) {
          sender.forward(node, { kind: 'route', filter: `r/${n}` }, new Uint8Array(64), true);
          sender.forward(node, { kind: 'route', filter: `u/${n}` }, new Uint8Array(64));
        }
        await sleep(1);
      }
    })();
    await sleep(150);
    await nats.stop('SIGKILL');
    const atKill = n;
    await sleep(300);
    await nats.start();
    await eventually(() => assert.ok(sender.connected && receiver.connected), 3_000);
    await sleep(300);
    running = false;
    await traffic;
    await within(flushedWithin(sender, 5_000), 6_000, 'flush after the restart');
    await eventually(() => assert.equal(numbered(got, 'r/').length, n), 3_000);
    await sleep(200);
    assert.deepEqual(numbered(got, 'r/'), range(0, n));
    const u = numbered(got, 'u/');
    assertIncreasing(u, 'QoS 0 forwards');
    t.diagnostic(`${n} reliable forwards (${atKill} before the kill) all arrived once; of ${n} others ${u.length} arrived`);
    assert.ok(u.some((x) => x >= atKill), 'forwards that are not reliable flow again after the restart');
    assert.deepEqual(unhandled, []);
  });

  it('a batch delivered again (its acknowledgement lost) is dropped by the receiver and acknowledged again', async () => {
    const nats = await startNats();
    services.push(nats);
    const cap = captureLog();
    const receiver = await natsTransport(nats.url, { log: cap.log });
    const sender = await natsTransport(nats.url);
    const node = nodeName('dedupe');
    const got = await collectForwards(receiver, node);
    // a bystander records the batches as the server relays them, to publish them once more
    const spy = await connectNats({ servers: nats.url });
    const batches: { data: Uint8Array; reply: string }[] = [];
    spy.subscribe(forwardSubject(node), { callback: (_err, m) => void (m.data.length > 0 && m.reply && batches.push({ data: m.data, reply: m.reply })) });
    await spy.flush();
    try {
      for (let i = 0; i < 50; i++) sender.forward(node, { kind: 'route', filter: `r/${i}` }, new Uint8Array([i]), true);
      await within(sender.flush(), 3_000, 'flush');
      assert.deepEqual(numbered(got, 'r/'), range(0, 50), 'flush() resolved once the receiver had every frame');
      // (the bystander's copies may come a little later than the receiver's)
      await eventually(() => assert.equal(batches.reduce((n, b) => n + entries(b.data), 0), 50), 2_000);
      // the same batches again, as a sender that missed the acknowledgement resends them
      for (const b of batches) spy.publish(forwardSubject(node), b.data, { reply: b.reply });
      const acks: number[] = [];
      const ackSub = spy.subscribe(batches[0]!.reply, { callback: (_err, m) => void acks.push(m.data.length) });
      for (const b of batches) spy.publish(forwardSubject(node), b.data, { reply: b.reply });
      await spy.flush();
      await eventually(() => assert.ok(acks.length > 0, 'the repeat is acknowledged'), 2_000);
      ackSub.unsubscribe();
      await sleep(100);
      assert.deepEqual(numbered(got, 'r/'), range(0, 50), 'nothing delivered twice');
      const repeats = cap.records.filter((r) => r.msg === 'dropped forwards delivered before').reduce((sum, r) => sum + (r.repeats as number), 0);
      assert.equal(repeats, 100);
    } finally {
      await spy.close();
    }
    assert.deepEqual(unhandled, []);
  });

  it("the destination's own connection drops: what it missed is sent again once it is found unacknowledged", async () => {
    const nats = await startNats();
    services.push(nats);
    const proxy = await startTcpProxy(nats.port);
    try {
      const cap = captureLog();
      // the receiver reaches NATS through the relay, whose connections the test cuts
      const receiver = await natsTransport(`nats://127.0.0.1:${proxy.port}`);
      const sender = await natsTransport(nats.url, { ackTimeoutMs: 300, log: cap.log });
      const node = nodeName('rx-drop');
      const got = await collectForwards(receiver, node);
      const N = 200;
      for (let i = 0; i < N; i++) {
        sender.forward(node, { kind: 'route', filter: `r/${i}` }, new Uint8Array([i & 0xff]), true);
        if (i === 50) proxy.cut(); // the server drops what comes for the node until it is back
        await sleep(5);
      }
      assert.equal(sender.connected, true, "the sender's own connection never dropped");
      await within(flushedWithin(sender, 8_000), 9_000, 'flush');
      assert.deepEqual(numbered(got, 'r/'), range(0, N), 'every frame delivered once, in order');
      assert.ok(
        cap.records.some((r) => r.msg === 'forwards left unacknowledged: sending them again'),
        'the frames lost on the way were sent again',
      );
    } finally {
      await proxy.close();
    }
    assert.deepEqual(unhandled, []);
  });

  it('forwards to a node nobody listens for are given up once a probe finds nobody, with a warning; flush() then resolves', async () => {
    const nats = await startNats();
    services.push(nats);
    const cap = captureLog();
    const sender = await natsTransport(nats.url, { log: cap.log, flushTimeoutMs: 5_000 });
    const node = nodeName('gone');
    for (let i = 0; i < 10; i++) sender.forward(node, { kind: 'route', filter: `r/${i}` }, new Uint8Array([i]), true);
    const t0 = Date.now();
    await within(sender.flush(), 4_000, 'flush');
    // (the probe comes once the oldest frame is 100 ms unacknowledged)
    assert.ok(Date.now() - t0 >= 90, 'flush() waited for an acknowledgement first');
    const warn = cap.records.find((r) => r.msg === 'nobody listens for this node on NATS: its unacknowledged forwards are given up');
    assert.ok(warn, 'a warning says the forwards were given up');
    assert.equal(warn.frames, 10);
    assert.deepEqual(unhandled, []);
  });

  it('after a restart, the resend waits until the destination listens again', async () => {
    const nats = await startNats();
    services.push(nats);
    const sender = await natsTransport(nats.url, { flushTimeoutMs: 300 });
    const first = await natsTransport(nats.url);
    const node = nodeName('verify');
    const gotFirst = await collectForwards(first, node);
    sender.forward(node, { kind: 'route', filter: 'r/0' }, new Uint8Array([0]), true);
    await sender.flush();
    await eventually(() => assert.equal(gotFirst.length, 1));

    await nats.stop('SIGKILL');
    await first.close(); // the node's listener comes back later, as another process would
    await eventually(() => assert.equal(sender.connected, false), 2_000);
    for (let i = 1; i <= 20; i++) sender.forward(node, { kind: 'route', filter: `r/${i}` }, new Uint8Array([i]), true);
    await nats.start();
    await eventually(() => assert.equal(sender.connected, true), 3_000);
    // nobody listens for the node yet: its forwards are held, not sent into the void
    await assert.rejects(within(sender.flush(), 1_000, 'flush'), /waiting for listeners/);
    const second = await natsTransport(nats.url);
    const got = await collectForwards(second, node);
    await within(flushedWithin(sender, 3_000), 4_000, 'flush once the node listens');
    await eventually(() => assert.equal(got.length, 20), 3_000);
    await sleep(100);
    assert.deepEqual(numbered(got, 'r/'), range(1, 21));
    assert.deepEqual(unhandled, []);
  });

  it('beyond maxUnconfirmedBytes the oldest reliable forwards are dropped, with an error', async () => {
    const nats = await startNats();
    services.push(nats);
    const cap = captureLog();
    const receiver = await natsTransport(nats.url);
    const sender = await natsTransport(nats.url, { maxUnconfirmedBytes: 20_000, log: cap.log });
    const node = nodeName('bound');
    const got = await collectForwards(receiver, node);
    await nats.stop('SIGKILL');
    await eventually(() => assert.equal(sender.connected, false), 2_000);
    for (let i = 0; i < 100; i++) sender.forward(node, { kind: 'route', filter: `r/${i}` }, new Uint8Array(1_000), true);
    const errors = cap.records.filter((r) => r.level === 50);
    assert.equal(errors.length, 1, 'one error, not one per frame');
    assert.match(String(errors[0]!.msg), /unconfirmed forwards.*may be lost/);
    assert.equal(errors[0]!.dropped, 1);
    await nats.start();
    await within(flushedWithin(sender, 5_000), 6_000, 'flush after the restart');
    await eventually(() => assert.ok(got.length > 0), 3_000);
    await sleep(200);
    const r = numbered(got, 'r/');
    // the newest that fit in 20 000 bytes, ~1 030 each
    assert.ok(r.length >= 15 && r.length <= 19, `${r.length} kept`);
    assert.deepEqual(r, range(100 - r.length, 100));
    assert.deepEqual(unhandled, []);
  });
});
