// starling-ctl (`node dist/cli/main.js`, a real child process) against a real gateway over
// a real three-node cluster with MQTT.js clients on different nodes: what each command
// prints is what the cluster holds, --json is the API's data, the commands' effects are
// real (a kicked client's connection closes, an added subscription delivers, a ban refuses
// CONNECT), and every kind of failure has its message and exit code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VERSION } from '../../shared/version.js';
import { eventually, fullName, startCluster, type TestCluster } from '../support/cluster.js';
import { jsonOf as json, runCli, shown, succeeded, type CliRun } from '../support/cli.js';
import { api, startGateway, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, RawClient, tcpUrl, uid, type TestClient } from '../support/mqtt-clients.js';
import { freePort } from '../support/ports.js';

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
/** clients the tests share: a on n1 (username alice), b on n2 */
let a: TestClient;
let b: TestClient;
const TOPIC_A = `cli/${uid('a')}/#`;
const TOPIC_B = `cli/${uid('b')}`;

before(async () => {
  c = await startCluster(['n1', 'n2', 'n3']);
  gw = await startGateway(c);
  a = await connectClient(tcpUrl(c.node('n1').mqttPort), { clientId: uid('cli-a'), username: 'alice' });
  b = await connectClient(tcpUrl(c.node('n2').mqttPort), { clientId: uid('cli-b'), username: 'bob' });
  await a.subscribe(TOPIC_A, { qos: 1 });
  await b.subscribe(TOPIC_B, { qos: 0 });
  // every node has the routes (the route table is loaded through Redis notifications)
  await eventually(async () => {
    const r = await api(gw!.url, 'GET', '/api/v4/routes');
    const topics = (r.body.data as { topic: string }[]).map((x) => x.topic);
    assert.ok(topics.includes(TOPIC_A) && topics.includes(TOPIC_B), JSON.stringify(r.body));
  });
});

after(async () => {
  await closeAllClients();
  await gw?.stop();
  await c?.stop();
});

const ctl = (...args: string[]): Promise<CliRun> => runCli(['--url', gw!.url, ...args]);
const get = async (path: string): Promise<any> => (await api(gw!.url, 'GET', `/api/v4${path}`)).body; // eslint-disable-line @typescript-eslint/no-explicit-any
const enc = encodeURIComponent;

/** A failed run: that exit code, nothing on stdout, one `starling-ctl: ...` message on stderr matching `message`. */
function failed(r: CliRun, code: number, message: RegExp): void {
  assert.equal(r.code, code, shown(r));
  assert.equal(r.stdout, '', shown(r));
  assert.match(r.stderr, /^starling-ctl: /, shown(r));
  assert.match(r.stderr, message, shown(r));
}

/** The table's data lines (the header dropped), each split at runs of two or more spaces. */
function tableRows(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => l.split(/ {2,}/));
}

describe('status and cluster', () => {
  it('status prints the gateway\'s /status text and exits 0 while a node answers', async () => {
    const r = await ctl('status');
    succeeded(r);
    assert.match(r.stdout, /^Node \S+@127\.0\.0\.1 is started\nemqx is running\n$/);
    assert.deepEqual(json(await ctl('status', '--json')), { running: true, text: r.stdout.trimEnd() });
  });

  it('cluster lists the three nodes with their status, version, uptime and connections', async () => {
    const r = await ctl('cluster');
    succeeded(r);
    const [header, ...lines] = r.stdout.trimEnd().split('\n');
    assert.match(header!, /^NODE\s+STATUS\s+VERSION\s+UPTIME\s+CONNECTIONS\s+MEMORY\s+LOAD1$/);
    assert.equal(lines.length, 3, r.stdout);
    const api4 = (await get('/nodes')).data as { node: string; node_status: string; version: string; connections: number }[];
    for (const n of api4) {
      const line = lines.find((l) => l.startsWith(`${n.node} `));
      assert.ok(line, `${n.node} in\n${r.stdout}`);
      assert.match(line, new RegExp(`^${n.node}\\s+${n.node_status}\\s+${VERSION.replace(/\./g, '\\.')}\\s+.*\\s${n.connections}\\s`));
    }
    assert.deepEqual(api4.map((n) => n.node).sort(), ['n1', 'n2', 'n3'].map(fullName));
    // the connections column is checked against live counts: a is on n1, b on n2
    assert.ok(api4.find((n) => n.node === fullName('n1'))!.connections >= 1);
    const data = json(await ctl('cluster', '--json')) as typeof api4;
    assert.deepEqual(
      data.map((n) => [n.node, n.node_status, n.version]),
      api4.map((n) => [n.node, n.node_status, n.version]),
    );
  });
});

describe('clients', () => {
  it('list shows every connected client with its node, username and address', async () => {
    const r = await ctl('clients', 'list');
    succeeded(r);
    assert.match(r.stdout.split('\n')[0]!, /^CLIENTID\s+USERNAME\s+NODE\s+ADDRESS\s+PROTOCOL\s+CONNECTED\s+KEEPALIVE\s+SUBSCRIPTIONS\s+CONNECTED AT$/);
    const rows = tableRows(r.stdout);
    const ra = rows.find((x) => x[0] === a.clientId);
    const rb = rows.find((x) => x[0] === b.clientId);
    assert.ok(ra && rb, r.stdout);
    assert.deepEqual(ra.slice(1, 3), ['alice', fullName('n1')]);
    assert.deepEqual(rb.slice(1, 3), ['bob', fullName('n2')]);
    assert.match(ra[3]!, /^127\.0\.0\.1:\d+$/);
    assert.equal(ra[4], 'MQTT 3.1.1');
    assert.equal(ra[5], 'true');
  });

  it('list --json is the API\'s rows', async () => {
    const cli = json(await ctl('clients', 'list', '--json')) as { clientid: string; node: string; username: string }[];
    const api4 = (await get('/clients')).data as typeof cli;
    const key = (x: (typeof cli)[number]): string => `${x.node} ${x.clientid} ${x.username}`;
    assert.deepEqual(cli.map(key), api4.map(key));
    assert.deepEqual(Object.keys(cli[0]!).sort(), Object.keys(api4[0]!).sort());
  });

  it('list filters by node, username and clientid substring', async () => {
    const ids = (r: CliRun): string[] => (json(r) as { clientid: string }[]).map((x) => x.clientid);
    assert.deepEqual(ids(await ctl('clients', 'list', '--node', fullName('n2'), '--json')), [b.clientId]);
    assert.deepEqual(ids(await ctl('clients', 'list', '--username', 'alice', '--json')), [a.clientId]);
    assert.deepEqual(ids(await ctl('clients', 'list', '--like', 'cli-b', '--json')), [b.clientId]);
  });

  it('list pages: every page by default, one with --page, at most --max rows', async () => {
    const all = (json(await ctl('clients', 'list', '--json')) as { clientid: string }[]).map((x) => x.clientid);
    assert.ok(all.length >= 2);
    // one row per request, every page fetched
    assert.deepEqual((json(await ctl('clients', 'list', '--limit', '1', '--json')) as { clientid: string }[]).map((x) => x.clientid), all);
    const p2 = await ctl('clients', 'list', '--page', '2', '--limit', '1', '--json');
    assert.equal(p2.code, 0, shown(p2));
    assert.deepEqual((JSON.parse(p2.stdout) as { clientid: string }[]).map((x) => x.clientid), [all[1]]);
    if (all.length > 2) assert.match(p2.stderr, /page 2: 1 row\(s\) of \d+; more on page 3/);
    const capped = await ctl('clients', 'list', '--max', '1');
    assert.equal(capped.code, 0, shown(capped));
    assert.equal(tableRows(capped.stdout).length, 1, capped.stdout);
    assert.match(capped.stderr, new RegExp(`showing the first 1 row\\(s\\) of ${all.length} \\(--max 1\\)`));
  });

  it('show prints every field of one client', async () => {
    const r = await ctl('clients', 'show', a.clientId);
    succeeded(r);
    assert.match(r.stdout, new RegExp(`^clientid\\s+${a.clientId}$`, 'm'));
    assert.match(r.stdout, /^username\s+alice$/m);
    assert.match(r.stdout, new RegExp(`^node\\s+${fullName('n1')}$`, 'm'));
    assert.match(r.stdout, /^subscriptions_cnt\s+1$/m);
    const data = json(await ctl('clients', 'show', a.clientId, '--json'));
    const api4 = (await get(`/clients/${enc(a.clientId)}`)).data;
    assert.equal(data.length, 1);
    assert.deepEqual(Object.keys(data[0]).sort(), Object.keys(api4[0]).sort());
    assert.equal(data[0].clientid, a.clientId);
  });

  it('kick disconnects a client on another node than the one asked, and show then reports it not online', async (t) => {
    const k = await connectClient(tcpUrl(c!.node('n3').mqttPort), { clientId: uid('cli-kick') }, t);
    succeeded(await ctl('clients', 'show', k.clientId));
    const r = await ctl('clients', 'kick', k.clientId);
    succeeded(r);
    assert.equal(r.stdout, `client ${k.clientId} kicked\n`);
    await k.waitClose(); // the connection's close event fires
    await eventually(async () => failed(await ctl('clients', 'show', k.clientId), 5, new RegExp(`client "${k.clientId}" is not online`)));
    failed(await ctl('clients', 'kick', k.clientId), 5, /code 112 \(client not online\)/);
  });

  it('kick --json prints the API\'s answer', async (t) => {
    const k = await connectClient(tcpUrl(c!.node('n2').mqttPort), { clientId: uid('cli-kick-json') }, t);
    assert.deepEqual(json(await ctl('clients', 'kick', k.clientId, '--json')), { code: 0 });
    await k.waitClose();
  });
});

describe('subscriptions', () => {
  it('list shows each client\'s subscriptions with QoS and node; --clientid narrows it', async () => {
    const r = await ctl('subscriptions', 'list');
    succeeded(r);
    const rows = tableRows(r.stdout);
    assert.ok(rows.some((x) => x.join('|') === `${a.clientId}|${TOPIC_A}|1|${fullName('n1')}`), r.stdout);
    assert.ok(rows.some((x) => x.join('|') === `${b.clientId}|${TOPIC_B}|0|${fullName('n2')}`), r.stdout);
    const only = json(await ctl('subscriptions', 'list', '--clientid', a.clientId, '--json'));
    assert.deepEqual(only, [{ node: fullName('n1'), clientid: a.clientId, topic: TOPIC_A, qos: 1 }]);
  });

  it('list --json is the API\'s rows', async () => {
    assert.deepEqual(json(await ctl('subscriptions', 'list', '--json')), (await get('/subscriptions')).data);
    assert.deepEqual(json(await ctl('subscriptions', 'list', '--node', fullName('n2'), '--json')), (await get(`/nodes/${enc(fullName('n2'))}/subscriptions`)).data);
  });

  it('add subscribes a connected client on its node (messages arrive) and del unsubscribes it', async (t) => {
    const topic = `cli/added/${uid('t')}`;
    const pub = await connectClient(tcpUrl(c!.node('n3').mqttPort), { clientId: uid('cli-pub') }, t);
    const added = await ctl('subscriptions', 'add', b.clientId, topic, '--qos', '1');
    succeeded(added);
    assert.equal(added.stdout, `${b.clientId} subscribed to ${topic} (QoS 1)\n`);
    assert.deepEqual(
      (await get(`/subscriptions/${enc(b.clientId)}`)).data.find((s: { topic: string }) => s.topic === topic),
      { node: fullName('n2'), clientid: b.clientId, topic, qos: 1 },
    );
    await eventually(async () => {
      const rows = json(await ctl('routes', 'show', topic, '--json'));
      assert.deepEqual(rows, [{ topic, node: fullName('n2') }]);
    });
    const from = b.mark();
    await pub.publish(topic, 'hello', { qos: 1 });
    const m = await b.waitForMessage(topic, { from });
    assert.equal(m.payload, 'hello');

    succeeded(await ctl('subscriptions', 'del', b.clientId, topic));
    assert.deepEqual(json(await ctl('subscriptions', 'list', '--clientid', b.clientId, '--json')), [{ node: fullName('n2'), clientid: b.clientId, topic: TOPIC_B, qos: 0 }]);
    await eventually(async () => assert.deepEqual(json(await ctl('routes', 'show', topic, '--json')), []));
  });

  it('add refuses a client that is not online (112), a bad topic (115) and a bad QoS (usage)', async () => {
    failed(await ctl('subscriptions', 'add', uid('nobody'), 'x/y'), 5, /code 112 \(client not online\)/);
    failed(await ctl('subscriptions', 'add', a.clientId, 'a/#/b'), 1, /HTTP 400, code 115 \(bad topic\)/);
    const r = await ctl('subscriptions', 'add', a.clientId, 'x/y', '--qos', '3');
    assert.equal(r.code, 2, shown(r));
    assert.match(r.stderr, /starling-ctl: error: option '--qos <qos>' argument '3' is invalid\. must be 0, 1 or 2\./);
  });
});

describe('routes', () => {
  it('list shows each filter with the node that subscribes to it; --json is the API\'s rows', async () => {
    const r = await ctl('routes', 'list');
    succeeded(r);
    assert.match(r.stdout.split('\n')[0]!, /^TOPIC\s+NODE$/);
    const rows = tableRows(r.stdout).map((x) => x.join('|'));
    assert.ok(rows.includes(`${TOPIC_A}|${fullName('n1')}`), r.stdout);
    assert.ok(rows.includes(`${TOPIC_B}|${fullName('n2')}`), r.stdout);
    assert.deepEqual(json(await ctl('routes', 'list', '--json')), (await get('/routes')).data);
  });

  it('show looks one filter up (wildcards and all)', async () => {
    const r = await ctl('routes', 'show', TOPIC_A);
    succeeded(r);
    assert.deepEqual(tableRows(r.stdout), [[TOPIC_A, fullName('n1')]]);
    assert.deepEqual(json(await ctl('routes', 'show', TOPIC_A, '--json')), (await get(`/routes/${enc(TOPIC_A)}`)).data);
    const none = await ctl('routes', 'show', 'no/such/route');
    succeeded(none);
    assert.equal(none.stdout, 'TOPIC  NODE\n(none)\n');
  });
});

describe('banned', () => {
  it('add, list and del round trip, and the ban refuses CONNECT meanwhile', async () => {
    const who = uid('banned');
    const added = await ctl('banned', 'add', '--as', 'clientid', '--who', who, '--reason', 'flooding\nthe broker', '--until', '1h');
    succeeded(added);
    assert.match(added.stdout, new RegExp(`^banned clientid ${who} until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\n$`));

    const entry = (await get('/banned')).data.find((e: { who: string }) => e.who === who);
    assert.ok(entry, 'the API lists the ban');
    assert.equal(entry.reason, 'flooding\nthe broker');
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(entry.until - (now + 3600)) <= 5, `until ${entry.until}, now ${now}`);

    const list = await ctl('banned', 'list');
    succeeded(list);
    assert.match(list.stdout.split('\n')[0]!, /^AS\s+WHO\s+REASON\s+BY\s+AT\s+UNTIL$/);
    const row = tableRows(list.stdout).find((x) => x[1] === who);
    // the newline in the reason is shown escaped, so the table stays one line per ban
    assert.deepEqual(row?.slice(0, 4), ['clientid', who, 'flooding\\nthe broker', 'user']);
    assert.deepEqual(json(await ctl('banned', 'list', '--json')), (await get('/banned')).data);

    await eventually(async () => {
      const { raw, connack } = await RawClient.connect(c!.node('n3').mqttPort, { clientId: who });
      await raw.destroy();
      assert.equal(connack.returnCode, 5, 'refused: not authorized');
    });

    const del = await ctl('banned', 'del', 'clientid', who);
    succeeded(del);
    assert.equal(del.stdout, `ban on clientid ${who} lifted\n`);
    assert.equal((await get('/banned')).data.find((e: { who: string }) => e.who === who), undefined);
    assert.ok(!tableRows((await ctl('banned', 'list')).stdout).some((x) => x[1] === who));
    await eventually(async () => {
      const { raw, connack } = await RawClient.connect(c!.node('n3').mqttPort, { clientId: who });
      await raw.destroy();
      assert.equal(connack.returnCode, 0);
    });
  });

  it('add --json prints the API\'s data: the request as the API took it', async () => {
    const who = '10.1.2.3';
    const until = Math.floor(Date.now() / 1000) + 600;
    const data = json(await ctl('banned', 'add', '--as', 'peerhost', '--who', who, '--until', String(until), '--json'));
    assert.deepEqual(data, { as: 'peerhost', who, until });
    succeeded(await ctl('banned', 'del', 'peerhost', who));
  });

  it('refuses a bad --as, a missing --who, an --until in the past and a bad <as> as usage errors', async () => {
    for (const [args, message] of [
      [['banned', 'add', '--as', 'ip', '--who', 'x'], /option '--as <kind>' argument 'ip' is invalid\. Allowed choices are clientid, username, peerhost\./],
      [['banned', 'add', '--as', 'clientid'], /required option '--who <value>' not specified/],
      [['banned', 'add', '--as', 'clientid', '--who', 'x', '--until', '1000'], /argument '1000' is invalid\. is in the past\./],
      [['banned', 'add', '--as', 'clientid', '--who', 'x', '--until', 'soon'], /argument 'soon' is invalid\. must be epoch seconds, a duration/],
      [['banned', 'del', 'ip', 'x'], /command-argument value 'ip' is invalid for argument 'as'/],
    ] as const) {
      const r = await ctl(...args);
      assert.equal(r.code, 2, shown(r));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message, shown(r));
      assert.match(r.stderr, /\(add --help for usage\)/);
    }
  });
});

describe('connection settings and failures', () => {
  it('takes the URL and credentials from STARLING_API_URL, _USER and _PASS; flags win over them', async () => {
    const env = { STARLING_API_URL: gw!.url, STARLING_API_USER: 'admin', STARLING_API_PASS: 'public' };
    succeeded(await runCli(['cluster'], env));
    failed(await runCli(['cluster'], { ...env, STARLING_API_PASS: 'wrong' }), 4, /refused the credentials of user "admin" \(HTTP 401, code 103 \(bad credentials\)\)/);
    succeeded(await runCli(['cluster', '--pass', 'public'], { ...env, STARLING_API_PASS: 'wrong' }));
    failed(await runCli(['cluster'], { ...env, STARLING_API_URL: 'http://127.0.0.1:9' }), 3, /cannot reach the gateway/);
    succeeded(await runCli(['cluster', '--url', gw!.url], { ...env, STARLING_API_URL: 'http://127.0.0.1:9' }));
  });

  it('an unreachable gateway exits 3', async () => {
    const port = await freePort();
    failed(await runCli(['--url', `http://127.0.0.1:${port}`, 'clients', 'list']), 3, new RegExp(`cannot reach the gateway at http://127\\.0\\.0\\.1:${port} \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)`));
    failed(await runCli(['--url', `http://127.0.0.1:${port}`, 'status']), 3, /cannot reach the gateway/);
  });

  it('a wrong password exits 4, before and after the command', async () => {
    failed(await ctl('--pass', 'wrong', 'clients', 'list'), 4, /HTTP 401/);
    failed(await ctl('clients', 'list', '--user', 'nobody'), 4, /refused the credentials of user "nobody"/);
  });

  it('an unknown client exits 5; an unknown node exits 5 and names it', async () => {
    failed(await ctl('clients', 'show', uid('nobody')), 5, /is not online/);
    failed(await ctl('clients', 'kick', uid('nobody')), 5, /code 112/);
    failed(await ctl('clients', 'list', '--node', 'nope@nowhere'), 5, /GET \/api\/v4\/nodes\/nope%40nowhere\/clients\?.*: node nope@nowhere not found/);
  });

  it('a bad command line exits 2 with commander\'s message', async () => {
    for (const [args, message] of [
      [['clients', 'show'], /error: missing required argument 'clientid'/],
      [['clients', 'list', '--page', '0'], /option '--page <n>' argument '0' is invalid\. must be a positive integer\./],
      [['clients', 'frobnicate'], /error: unknown command 'frobnicate'/],
      [['clients', 'list', '--colour'], /error: unknown option '--colour'/],
      [['routes', 'show', 'a', 'b'], /error: too many arguments for 'show'/],
      [['--url', 'not a url', 'cluster'], /argument 'not a url' is invalid\. must be a URL/],
      [['clients', 'show', ''], /error: argument 'clientid' must not be empty/],
      [['clients', 'list', '--node', ''], /error: option '--node <node>' must not be empty/],
    ] as const) {
      const r = await runCli([...args]);
      assert.equal(r.code, 2, shown(r));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message, shown(r));
    }
    // a group without its subcommand: its help, on stderr, as a usage error
    const g = await runCli(['banned']);
    assert.equal(g.code, 2, shown(g));
    assert.match(g.stderr, /Usage: starling-ctl banned \[options\] \[command\]/);
  });

  it('--help on every command exits 0 and lists the global options', async () => {
    const commands = [
      [], ['status'], ['cluster'], ['clients'], ['clients', 'list'], ['clients', 'show'], ['clients', 'kick'],
      ['subscriptions', 'list'], ['subscriptions', 'add'], ['subscriptions', 'del'], ['routes', 'list'], ['routes', 'show'],
      ['banned', 'list'], ['banned', 'add'], ['banned', 'del'], ['plugins', 'list'], ['plugins', 'load'], ['plugins', 'unload'],
      ['modules', 'list'], ['modules', 'load'], ['modules', 'unload'], ['metrics'], ['stats'], ['alarms'], ['listeners'],
    ];
    for (const cmd of commands) {
      const r = await runCli([...cmd, '--help']);
      succeeded(r);
      assert.match(r.stdout, new RegExp(`^Usage: starling-ctl${cmd.length ? ` ${cmd.join(' ')}` : ''} `), shown(r));
      assert.match(r.stdout, /--url <url>/);
    }
    const top = await runCli(['--help']);
    assert.match(top.stdout, /Exit codes:\n {2}0 {2}success\n {2}1 /);
    assert.match(top.stdout, /STARLING_API_URL/);
    assert.match(top.stdout, /`rules` .* comes with the rule engine/);
  });
});
