// Tests of the test harness itself: real nats-server and redis-server, real child processes.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { parseNodeStarted, startNode } from '../support/broker.js';
import { freePort, freePorts, isPortFree } from '../support/ports.js';
import { killAll, liveProcesses, spawnProcess } from '../support/processes.js';
import { startNats, startRedis } from '../support/services.js';

/** Connect to 127.0.0.1:port, optionally send, and resolve with what arrives until `until` matches. */
function exchange(port: number, send: string | undefined, until: RegExp, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const sock = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no ${until} from port ${port} within ${timeoutMs} ms; got ${JSON.stringify(got)}`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => send !== undefined && sock.write(send));
    sock.on('data', (d: string) => {
      got += d;
      if (until.test(got)) {
        clearTimeout(timer);
        sock.destroy();
        resolve(got);
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Node's own script: prints a line, then lingers; `ignoreTerm` makes it survive SIGTERM.
const lingerScript = (line: string, ignoreTerm = false) =>
  `${ignoreTerm ? "process.on('SIGTERM', () => {});" : ''} console.log(${JSON.stringify(line)}); setInterval(() => {}, 1000);`;

after(() => killAll(500));

describe('ports', () => {
  it('freePort returns a bindable port and freePorts distinct ones', async () => {
    const port = await freePort();
    assert.ok(port > 0);
    assert.equal(await isPortFree(port), true);
    const ports = await freePorts(5);
    assert.equal(new Set(ports).size, 5);
  });
});

describe('nats-server', () => {
  it('starts, answers, restarts on the same port, and releases it on stop', async () => {
    const nats = await startNats();
    try {
      assert.equal(nats.url, `nats://127.0.0.1:${nats.port}`);
      assert.match(await exchange(nats.port, undefined, /^INFO \{/), /^INFO \{/);
      const firstPid = nats.proc.pid;

      await nats.restart();
      assert.notEqual(nats.proc.pid, firstPid);
      assert.equal(isAlive(firstPid), false);
      assert.match(await exchange(nats.port, undefined, /^INFO \{/), /^INFO \{/);

      await nats.restart({ signal: 'SIGKILL', downtimeMs: 100 });
      assert.match(await exchange(nats.port, undefined, /^INFO \{/), /^INFO \{/);
    } finally {
      await nats.stop();
    }
    assert.equal(nats.proc.alive, false);
    assert.equal(await isPortFree(nats.port), true);
  });
});

describe('redis-server', () => {
  it('starts, answers PING, restarts on the same port, and releases it on stop', async () => {
    const redis = await startRedis();
    try {
      assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
      assert.match(await exchange(redis.port, 'PING\r\n', /\r\n/), /^\+PONG\r\n/);

      await redis.restart();
      assert.match(await exchange(redis.port, 'PING\r\n', /\r\n/), /^\+PONG\r\n/);

      await redis.stop();
      await assert.rejects(exchange(redis.port, 'PING\r\n', /\r\n/, 1_000), /ECONNREFUSED/);
      await redis.start();
      assert.match(await exchange(redis.port, 'PING\r\n', /\r\n/), /^\+PONG\r\n/);
    } finally {
      await redis.stop();
    }
    assert.equal(await isPortFree(redis.port), true);
  });
});

describe('processes', () => {
  it('rejects when the ready line never comes, with the output in the message, and kills the process', async () => {
    const before = new Set(liveProcesses().map((p) => p.pid));
    await assert.rejects(
      spawnProcess({
        name: 'silent',
        cmd: process.execPath,
        args: ['-e', lingerScript('some diagnostic output')],
        readyLine: /never printed/,
        // long enough for a node process to start and print on a loaded machine
        timeoutMs: 3000,
      }),
      (err: Error) => {
        assert.match(err.message, /silent .*no line matching \/never printed\/ within 3000 ms/);
        assert.match(err.message, /some diagnostic output/);
        return true;
      },
    );
    assert.deepEqual(liveProcesses().filter((p) => !before.has(p.pid)), []);
  });

  it('rejects at once when the process exits before its ready line', async () => {
    await assert.rejects(
      spawnProcess({
        name: 'crasher',
        cmd: process.execPath,
        args: ['-e', 'console.error("boom: bad config"); process.exit(3)'],
        readyLine: /ready/,
        timeoutMs: 10_000,
      }),
      /crasher .*exited \(code 3[\s\S]*boom: bad config/,
    );
  });

  it('rejects when the binary does not exist', async () => {
    await assert.rejects(
      spawnProcess({ name: 'ghost', cmd: '/nonexistent/binary', args: [] }),
      /ghost: cannot start \/nonexistent\/binary/,
    );
  });

  it('waitForLine resolves on lines already seen and on later ones', async () => {
    const p = await spawnProcess({
      name: 'talker',
      cmd: process.execPath,
      args: ['-e', "console.log('first'); setTimeout(() => console.error('second'), 200); setInterval(() => {}, 1000);"],
      readyLine: /first/,
    });
    try {
      assert.equal(await p.waitForLine(/first/, 100), 'first');
      assert.equal(await p.waitForLine((l) => l === 'second', 5_000), 'second');
      await assert.rejects(p.waitForLine(/first/, 100, { onlyNew: true }), /no line matching/);
      assert.deepEqual(p.lines, ['first', 'second']);
    } finally {
      await p.kill();
    }
    assert.equal((await p.exited).signal, 'SIGTERM');
  });

  it('killAll leaves no child alive, escalating to SIGKILL', async () => {
    const procs = await Promise.all([
      spawnProcess({ name: 'a', cmd: process.execPath, args: ['-e', lingerScript('up')], readyLine: /up/ }),
      spawnProcess({ name: 'b', cmd: process.execPath, args: ['-e', lingerScript('up', true)], readyLine: /up/ }),
      spawnProcess({ name: 'c', cmd: 'sleep', args: ['60'] }),
    ]);
    for (const p of procs) assert.equal(isAlive(p.pid), true);
    await killAll(300);
    for (const p of procs) assert.equal(isAlive(p.pid), false, `${p.name} (pid ${p.pid}) still alive`);
    assert.equal((await procs[1]!.exited).signal, 'SIGKILL');
    assert.deepEqual(liveProcesses(), []);
  });
});

describe('broker harness', () => {
  const started = (listeners: Record<string, number>, node = 'starling@127.0.0.1') =>
    JSON.stringify({ level: 30, time: '2025-01-01T00:00:00.000Z', pid: 1, node, msg: 'node started', listeners });

  it('parses the "node started" line and ignores everything else', () => {
    assert.deepEqual(parseNodeStarted(started({ 'mqtt:tcp': 40123, 'mqtt:ws': 40124 })), {
      nodeName: 'starling@127.0.0.1',
      listeners: { 'mqtt:tcp': 40123, 'mqtt:ws': 40124 },
    });
    assert.equal(parseNodeStarted('{"msg":"listener up","port":1}'), undefined);
    assert.equal(parseNodeStarted('{"msg":"node started"}'), undefined);
    assert.equal(parseNodeStarted('node started'), undefined);
    assert.equal(parseNodeStarted('{not json'), undefined);
  });

  it('startNode reads ports from a fake node, with the test environment', async () => {
    // A stand-in for dist/node/main.js: logs like pino, reports its env back in the listeners line.
    // the SIGTERM handler goes first: once "node started" is printed the test may stop it
    const script = `
      process.on('SIGTERM', () => { console.log(JSON.stringify({ msg: 'node stopping' })); process.exit(0); });
      const env = process.env;
      console.log(JSON.stringify({ level: 30, msg: 'booting', bind: env.STARLING_BIND, mqtt: env.STARLING_MQTT_PORT, ws: env.STARLING_WS_PORT, log: env.STARLING_LOG_LEVEL, extra: env.EXTRA, nats: env.NATS_URL ?? null }));
      console.log('not json at all');
      console.log(${JSON.stringify(started({ 'mqtt:tcp': 40123, 'mqtt:ws': 40124, 'mqtt:ssl': 40125 }, 'n1@127.0.0.1'))});
      setInterval(() => {}, 1000);`;
    process.env.NATS_URL = 'nats://leaked-from-shell:4222';
    let node;
    try {
      node = await startNode({ name: 'fake', args: ['-e', script], env: { EXTRA: 'yes' } });
    } finally {
      delete process.env.NATS_URL;
    }
    try {
      assert.equal(node.nodeName, 'n1@127.0.0.1');
      assert.equal(node.mqttPort, 40123);
      assert.equal(node.wsPort, 40124);
      assert.equal(node.mqttsPort, 40125);
      const boot = await node.waitForLog((e) => e.msg === 'booting', 5000);
      assert.deepEqual(
        { bind: boot.bind, mqtt: boot.mqtt, ws: boot.ws, log: boot.log, extra: boot.extra, nats: boot.nats },
        { bind: '127.0.0.1', mqtt: '0', ws: '0', log: 'info', extra: 'yes', nats: null },
      );
      assert.ok(node.logs().includes('not json at all'));
      assert.equal(node.logEntries().length, 2);
    } finally {
      await node.stop();
    }
    assert.equal((await node.proc.exited).code, 0);
    assert.ok(node.logEntries().some((e) => e.msg === 'node stopping'));
  });

  it('startNode without TLS has no mqttsPort, and kill9 crashes it', async () => {
    const node = await startNode({ args: ['-e', `console.log(${JSON.stringify(started({ 'mqtt:tcp': 1, 'mqtt:ws': 2 }))}); process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);`] });
    assert.equal(node.mqttsPort, undefined);
    await node.kill9();
    assert.equal((await node.proc.exited).signal, 'SIGKILL');
  });

  it('startNode fails with the node output when it dies during startup', async () => {
    await assert.rejects(
      startNode({ name: 'broken', args: ['-e', `console.log(JSON.stringify({ level: 60, msg: 'cannot bind' })); process.exit(1)`] }),
      /broken .*exited \(code 1[\s\S]*cannot bind/,
    );
  });
});
