// GET/POST /api/v4/banned and DELETE /api/v4/banned/{as}/{who} against a real 3-node cluster
// and a gateway process: a ban made through the API refuses CONNECT on every node within a
// second, and stops doing so when deleted or expired.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { api, startGateway, type GatewayProcess } from '../support/gateway.js';
import { RawClient, closeAllClients, uid } from '../support/mqtt-clients.js';
import { sleep } from '../support/wait.js';

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
let base = '';

before(async () => {
  c = await startCluster(['n1', 'n2', 'n3']);
  gw = await startGateway(c);
  base = gw.url;
});

after(async () => {
  await closeAllClients();
  await gw?.stop();
  await c?.stop();
});

const NODES = ['n1', 'n2', 'n3'];
const nowSec = (): number => Math.floor(Date.now() / 1000);
/** The MQTT 3.1.1 CONNACK return code for one CONNECT on `node` (5: refused, not authorized). */
async function connackCode(node: string, clientId: string, username?: string): Promise<number> {
  const { raw, connack } = await RawClient.connect(c!.node(node).mqttPort, { clientId, ...(username ? { username } : {}) });
  await raw.destroy();
  return connack.returnCode!;
}

/** Polls until every node answers `want` for this client; returns how long that took. */
async function untilAllNodes(want: number, clientId: string, username?: string, timeoutMs = 1000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const codes = await Promise.all(NODES.map((n) => connackCode(n, clientId, username)));
    if (codes.every((x) => x === want)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) assert.fail(`CONNACK codes on ${NODES.join(', ')}: ${codes.join(', ')}; wanted ${want} on all within ${timeoutMs} ms`);
    await sleep(25);
  }
}

function assertError(r: { status: number; body: any }, status: number, code: number): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.code, code, JSON.stringify(r.body));
  assert.equal(typeof r.body.message, 'string');
}

const list = () => api(base, 'GET', '/api/v4/banned');

describe('banned', () => {
  it('answers the spec example and lists the entry with its defaults', async (t) => {
    const r = await api(base, 'POST', '/api/v4/banned', { body: { who: 'example', as: 'clientid', reason: 'example' } });
    t.after(() => api(base, 'DELETE', '/api/v4/banned/clientid/example'));
    assert.equal(r.status, 200);
    // "the same as the request body"
    assert.deepEqual(r.body, { data: { who: 'example', as: 'clientid', reason: 'example' }, code: 0 });
    const l = await list();
    assert.equal(l.status, 200);
    assert.equal(l.body.code, 0);
    assert.deepEqual(l.body.meta, { page: 1, limit: 10000, count: 1, hasnext: false });
    assert.equal(l.body.data.length, 1);
    const e = l.body.data[0];
    assert.deepEqual(Object.keys(e).sort(), ['as', 'at', 'by', 'reason', 'until', 'who']);
    assert.equal(e.who, 'example');
    assert.equal(e.as, 'clientid');
    assert.equal(e.reason, 'example');
    assert.equal(e.by, 'user');
    assert.ok(Math.abs(e.at - nowSec()) <= 2, `at ${e.at}`);
    assert.equal(e.until, e.at + 300, 'five minutes by default');
  });

  it('refuses a banned clientid on n1, n2 and n3 within a second, and admits it again after DELETE', async () => {
    const cid = uid('bad');
    assert.equal(await connackCode('n2', cid), 0);
    const posted = await api(base, 'POST', '/api/v4/banned', { body: { who: cid, as: 'clientid', reason: 'test', by: 'tester' } });
    assert.deepEqual(posted.body, { data: { who: cid, as: 'clientid', reason: 'test', by: 'tester' }, code: 0 });
    await untilAllNodes(5, cid);
    const d = await api(base, 'DELETE', `/api/v4/banned/clientid/${encodeURIComponent(cid)}`);
    assert.deepEqual(d.body, { code: 0 });
    await untilAllNodes(0, cid);
    assert.equal((await list()).body.data.some((e: { who: string }) => e.who === cid), false);
  });

  it('bans by username and by peerhost (stored canonically)', async () => {
    const user = uid('user');
    assert.deepEqual((await api(base, 'POST', '/api/v4/banned', { body: { who: user, as: 'username' } })).body.code, 0);
    await untilAllNodes(5, uid('c'), user);
    assert.deepEqual((await api(base, 'DELETE', `/api/v4/banned/username/${user}`)).body, { code: 0 });
    await untilAllNodes(0, uid('c'), user);

    // every test client connects from 127.0.0.1
    assert.equal((await api(base, 'POST', '/api/v4/banned', { body: { who: '::ffff:127.0.0.1', as: 'peerhost' } })).body.code, 0);
    try {
      await untilAllNodes(5, uid('c'));
      const e = (await list()).body.data.find((x: { as: string }) => x.as === 'peerhost');
      assert.equal(e.who, '127.0.0.1');
    } finally {
      assert.deepEqual((await api(base, 'DELETE', '/api/v4/banned/peerhost/127.0.0.1')).body, { code: 0 });
    }
    await untilAllNodes(0, uid('c'));
  });

  it('stops applying an expired ban', async () => {
    const past = uid('past');
    const r = await api(base, 'POST', '/api/v4/banned', { body: { who: past, as: 'clientid', at: nowSec() - 600, until: nowSec() - 10 } });
    assert.equal(r.body.code, 0);
    assert.equal((await list()).body.data.some((e: { who: string }) => e.who === past), false, 'an expired entry is not listed');
    await sleep(300); // past any propagation: still admitted
    await untilAllNodes(0, past);

    const short = uid('short');
    const until = nowSec() + 2;
    assert.equal((await api(base, 'POST', '/api/v4/banned', { body: { who: short, as: 'clientid', until } })).body.code, 0);
    await untilAllNodes(5, short);
    // in force while until > now; admitted once it has passed
    await sleep(Math.max(0, until * 1000 - Date.now()));
    await untilAllNodes(0, short, undefined, 1500);
    assert.equal((await list()).body.data.some((e: { who: string }) => e.who === short), false);
  });

  it('pages over the table', async (t) => {
    const whos = [uid('p'), uid('p'), uid('p')];
    for (const who of whos) assert.equal((await api(base, 'POST', '/api/v4/banned', { body: { who, as: 'username' } })).body.code, 0);
    t.after(() => Promise.all(whos.map((who) => api(base, 'DELETE', `/api/v4/banned/username/${who}`))));
    const total = (await list()).body.meta.count;
    assert.ok(total >= 3);
    const p1 = await api(base, 'GET', '/api/v4/banned?_page=1&_limit=2');
    assert.deepEqual(p1.body.meta, { page: 1, limit: 2, count: total, hasnext: true });
    assert.equal(p1.body.data.length, 2);
    const last = Math.ceil(total / 2);
    const pn = await api(base, 'GET', `/api/v4/banned?_page=${last}&_limit=2`);
    assert.deepEqual(pn.body.meta, { page: last, limit: 2, count: total, hasnext: false });
    const seen = new Set<string>();
    for (let page = 1; page <= last; page++) {
      for (const e of (await api(base, 'GET', `/api/v4/banned?_page=${page}&_limit=2`)).body.data) seen.add(`${e.as}:${e.who}`);
    }
    assert.equal(seen.size, total, 'pages neither overlap nor skip');
    for (const who of whos) assert.ok(seen.has(`username:${who}`));
  });

  it('answers bad requests with 107 and 108', async () => {
    const post = (body: unknown) => api(base, 'POST', '/api/v4/banned', { body });
    assertError(await post({ as: 'clientid' }), 400, 107);
    assertError(await post({ who: 'x' }), 400, 107);
    assertError(await api(base, 'POST', '/api/v4/banned'), 400, 107);
    assertError(await post({ who: 'x', as: 'ip_address' }), 400, 108);
    assertError(await post({ who: 5, as: 'clientid' }), 400, 108);
    assertError(await post({ who: 'x', as: 'clientid', until: 'tomorrow' }), 400, 108);
    assertError(await post({ who: 'x', as: 'clientid', reason: 1 }), 400, 108);
    assertError(await post({ who: 'not-an-ip', as: 'peerhost' }), 400, 108);
    assertError(await post(['x']), 400, 108);
    assertError(await api(base, 'POST', '/api/v4/banned', { raw: '{"who":' }), 400, 109);
    assertError(await api(base, 'DELETE', '/api/v4/banned/bogus/x'), 400, 108);
    assertError(await api(base, 'DELETE', '/api/v4/banned/peerhost/nope'), 400, 108);
    assertError(await api(base, 'GET', '/api/v4/banned?_limit=0'), 400, 108);
    // deleting what is not there succeeds, as in EMQX
    assert.deepEqual((await api(base, 'DELETE', `/api/v4/banned/clientid/${uid('absent')}`)).body, { code: 0 });
    assert.equal((await api(base, 'GET', '/api/v4/banned', { auth: null })).status, 401);
  });
});
