// The Eclipse Paho interoperability suite (eclipse/paho.mqtt.testing, vendored unchanged under
// test/interop/paho/) against a real node: its MQTT 3.1.1 client test (client_test.py) and
// its MQTT 5.0 one (client_test5.py), each on a node of its own (both suites use the same
// client ids and clear every retained message), concurrently. Every Paho test is reported as a
// subtest of its own; the ones that contradict the MQTT specification are listed below with
// the reason and must fail, and in that way.
//
// The node runs the suite's documented test configuration: an ACL refusing subscriptions to
// test/nosubscribe (test/interop/paho.acl.conf) and a server keepalive of 60; the rest is the
// node's defaults, which the suite needs as they are (retained messages on, topic alias
// maximum 65535, receive maximum 100, 1 MB maximum packet size).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { REPO_ROOT, startNode, type NodeProcess } from '../support/broker.js';
import { spawnProcess } from '../support/processes.js';
import { RawClient } from '../support/mqtt5.js';

const INTEROP = join(REPO_ROOT, 'test', 'interop');
const PAHO_NODE_ENV = {
  STARLING_ACL_FILE: join(INTEROP, 'paho.acl.conf'),
  STARLING_SERVER_KEEPALIVE: '60',
  STARLING_WS_PORT: '-1',
  STARLING_API_PORT: '-1',
};
/** A hung Paho test is interrupted after this (the longest, test_subscribe_options, takes ~22 s). */
const TEST_TIMEOUT_S = 90;
/** Runs alone a failed test gets before it counts as failed (see pahoSuite). */
const RERUNS = 2;
/** The whole of one suite (MQTT 5.0 takes about 170 s, 3.1.1 about 45 s). */
const SUITE_TIMEOUT_MS = 12 * 60_000;

interface Contradiction {
  test: string;
  /** why the suite, not the broker, is wrong */
  reason: string;
  /** the failure this causes, in the Paho test's result or what it logged */
  failsWith: RegExp;
}

/** Paho tests that contradict the MQTT specification, by suite. */
const CONTRADICTIONS: Record<string, Contradiction[]> = {
  'client_test.py': [],
  'client_test5.py': [
    {
      test: 'test_subscribe_failure',
      reason:
        'The node refuses the subscription with SUBACK 0x87 Not authorized, which MQTT 5.0 §3.9.3 lists for exactly ' +
        'this case (0x80 Unspecified error is the generic code). The suite\'s own packet decoder ' +
        '(mqtt/formats/MQTTV5/MQTTV5.py, "[MQTT5-3.9.3-2]") accepts only 0, 1, 2 and 0x80 in an MQTT 5 SUBACK, ' +
        'MQTT 3.1.1\'s rule: it throws the SUBACK away, so the test sees no answer at all.',
      failsWith: /\[MQTT5-3\.9\.3-2\] return code in QoS must be 0, 1, 2 or 0x80/,
    },
  ],
};

interface PahoResult {
  test: string;
  outcome: 'pass' | 'fail' | 'skip';
  detail: string;
  log: string[];
  /** what it printed (the suite prints the tracebacks of the exceptions it catches) */
  printed: string;
  seconds: number;
}

interface SuiteRun {
  results: PahoResult[];
  /** a test that started and never ended: the run was killed in it */
  unfinished: string | undefined;
  exit: string;
  output: string;
}

/** Runs one Paho script against the node through test/interop/run_paho.py; never rejects on test failures. */
async function runSuite(script: string, port: number, only: string[] = []): Promise<SuiteRun> {
  const dir = mkdtempSync(join(tmpdir(), 'starling-paho-'));
  const resultsFile = join(dir, 'results.jsonl');
  try {
    // --hostname, not -h: the scripts read -h as --help (`o in ("--help")` is a substring test)
    const proc = await spawnProcess({
      name: script,
      cmd: 'python3',
      args: [
        join(INTEROP, 'run_paho.py'),
        '--results',
        resultsFile,
        '--test-timeout',
        String(TEST_TIMEOUT_S),
        ...only.flatMap((name) => ['--only', name]),
        script,
        '--hostname',
        '127.0.0.1',
        '-p',
        String(port),
      ],
      env: { PYTHONUNBUFFERED: '1' },
    });
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), SUITE_TIMEOUT_MS)));
    const ended = await Promise.race([proc.exited, killed]);
    clearTimeout(timer);
    if (ended === 'timeout') await proc.kill('SIGKILL');
    const status = ended === 'timeout' ? `killed after ${SUITE_TIMEOUT_MS} ms` : `exit ${ended.code ?? ended.signal}`;
    let lines: string[] = [];
    try {
      lines = readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean);
    } catch {
      /* it ended before the first test */
    }
    const results: PahoResult[] = [];
    let unfinished: string | undefined;
    for (const line of lines) {
      const e = JSON.parse(line) as { event: string } & PahoResult;
      if (e.event === 'start') unfinished = e.test;
      else {
        results.push({ test: e.test, outcome: e.outcome, detail: e.detail, log: e.log, printed: e.printed, seconds: e.seconds });
        if (unfinished === e.test) unfinished = undefined;
      }
    }
    return { results, unfinished, exit: status, output: proc.tail(40) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const failureOf = (r: PahoResult): string => [r.detail, ...r.log, r.printed].filter(Boolean).join('\n');

async function pahoSuite(t: TestContext, script: string): Promise<void> {
  const contradictions = CONTRADICTIONS[script]!;
  let node: NodeProcess | undefined;
  let run: SuiteRun;
  /** failed tests that passed when run again alone, with their first failure */
  const passedAlone = new Map<string, PahoResult>();
  try {
    node = await startNode({ name: `paho-${script}`, env: PAHO_NODE_ENV });
    run = await runSuite(script, node.mqttPort);
    // The suite's tests are timed: sleeps of 1-3 s stand in for waiting on acknowledgements
    // (test_request_response and test_subscribe_options publish without waiting for their
    // second client's SUBACK),
    // so on a busy machine one can miss. A failed test gets up to two more runs, alone.
    const failed = run.results.filter((r) => r.outcome === 'fail' && !contradictions.some((c) => c.test === r.test));
    for (const first of failed) {
      for (let attempt = 0; attempt < RERUNS && !passedAlone.has(first.test); attempt++) {
        const again = (await runSuite(script, node.mqttPort, [first.test])).results.find((r) => r.test === first.test);
        if (again?.outcome === 'pass') passedAlone.set(first.test, first);
      }
    }
  } finally {
    await node?.stop();
  }
  assert.ok(run.results.length > 0, `${script} reported no test (${run.exit}):\n${run.output}`);
  for (const r of run.results) {
    const c = contradictions.find((x) => x.test === r.test);
    await t.test(`${r.test}${c ? ' (contradicts the spec: must fail)' : ''}`, (st) => {
      const failure = failureOf(r);
      const first = passedAlone.get(r.test);
      if (first) {
        st.diagnostic(`failed in the full run, passed alone: ${failureOf(first)}`);
      } else if (c) {
        assert.equal(r.outcome, 'fail', `${r.test} now passes: remove it from the contradictions table`);
        assert.match(failure, c.failsWith, `${r.test} fails otherwise than documented (${c.reason})`);
      } else {
        assert.equal(r.outcome, 'pass', `${r.test} (${r.seconds} s):\n${failure}`);
      }
    });
  }
  await t.test('every Paho test ran to its end, the contradictions listed among them', () => {
    assert.equal(run.unfinished, undefined, `${run.unfinished} never ended (${run.exit}):\n${run.output}`);
    for (const c of contradictions) assert.ok(run.results.some((r) => r.test === c.test), `${c.test} is listed but did not run`);
  });
}

describe('Eclipse Paho interoperability suite', { concurrency: true, timeout: SUITE_TIMEOUT_MS + 60_000 }, () => {
  it('MQTT 3.1.1: client_test.py', (t) => pahoSuite(t, 'client_test.py'));
  it('MQTT 5.0: client_test5.py', (t) => pahoSuite(t, 'client_test5.py'));

  it('test_subscribe_failure\'s subscription is refused as the spec says: 0x80 under MQTT 3.1.1, 0x87 under MQTT 5', async (t) => {
    const node = await startNode({ name: 'paho-acl', env: PAHO_NODE_ENV });
    t.after(() => node.stop());
    for (const [protocolVersion, code] of [[4, 0x80], [5, 0x87]] as const) {
      const c = await RawClient.connected(t, node.mqttPort, { protocolVersion, clientId: `nosub-${protocolVersion}` });
      assert.deepEqual(await c.subscribe([{ topic: 'test/nosubscribe', qos: 2 }, { topic: 'test/other', qos: 2 }]), [code, 2]);
    }
  });
});
