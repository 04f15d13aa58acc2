// Basic-auth brute force against a real gateway: after STARLING_API_AUTH_MAX_FAILURES wrong
// credentials from one source address, that address is answered 429 with Retry-After (even
// with good credentials) until the window ends; other addresses and successful logins are
// not affected. Source addresses are the loopback's 127.0.0.x (the gateway listens on
// 127.0.0.1 only), and with STARLING_API_TRUST_PROXY those a proxy's X-Forwarded-For names.
// The dashboard users' password checks of /api/v3 count as failed logins too.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { startGateway, type GatewayProcess } from '../support/gateway.js';
import { httpCall, type CallAnswer } from '../support/http-call.js';

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
let gwShort: GatewayProcess | undefined;
/** answers nothing before the last test: no apps cached */
let gwFresh: GatewayProcess | undefined;

const MAX = 3;

before(async () => {
  c = await startCluster(['n1']);
  [gw, gwShort, gwFresh] = await Promise.all([
    startGateway(c, { STARLING_API_AUTH_MAX_FAILURES: String(MAX), STARLING_API_AUTH_WINDOW_MS: '60000', STARLING_API_TRUST_PROXY: 'loopback' }),
    startGateway(c, { STARLING_API_AUTH_MAX_FAILURES: '1', STARLING_API_AUTH_WINDOW_MS: '3000' }),
    startGateway(c, { STARLING_API_AUTH_MAX_FAILURES: String(MAX) }),
  ]);
});

after(async () => {
  await Promise.allSettled([gw?.stop(), gwShort?.stop(), gwFresh?.stop()]);
  await c?.stop();
});

/** GET /api/v4/brokers from the local address `from`, with `auth` (null: none) and extra headers. */
const get = (g: GatewayProcess, from: string, auth: string | null, headers: Record<string, string> = {}): Promise<CallAnswer> =>
  httpCall(`${g.url}/api/v4/brokers`, { localAddress: from, headers, ...(auth === null ? {} : { auth }) });

function lockedOut(r: CallAnswer): number {
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.body.code, 429);
  assert.match(r.body.message, /too many failed logins/);
  const retry = Number(r.headers['retry-after']);
  assert.ok(retry >= 1 && retry <= 60, `Retry-After ${r.headers['retry-after']}`);
  return retry;
}

describe('lock-out after failed logins', () => {
  it('locks one address after the failures, good credentials included, and no other', async () => {
    for (let i = 0; i < MAX; i++) assert.equal((await get(gw!, '127.0.0.2', 'admin:wrong')).status, 401);
    lockedOut(await get(gw!, '127.0.0.2', 'admin:public'));
    lockedOut(await get(gw!, '127.0.0.2', 'admin:wrong'));
    lockedOut(await get(gw!, '127.0.0.2', null));
    // another address: served as ever, its own failures still 401
    assert.equal((await get(gw!, '127.0.0.3', 'admin:public')).status, 200);
    assert.equal((await get(gw!, '127.0.0.3', 'admin:wrong')).status, 401);
    assert.equal((await get(gw!, '127.0.0.3', 'admin:public')).status, 200);
  });

  it('never counts successful logins, nor requests without credentials', async () => {
    for (let i = 0; i < 5 * MAX; i++) assert.equal((await get(gw!, '127.0.0.4', 'admin:public')).status, 200);
    for (let i = 0; i < 5 * MAX; i++) assert.equal((await get(gw!, '127.0.0.4', null)).status, 401);
    for (let i = 0; i < MAX - 1; i++) assert.equal((await get(gw!, '127.0.0.4', 'admin:wrong')).status, 401);
    assert.equal((await get(gw!, '127.0.0.4', 'admin:public')).status, 200, 'one failure short of the limit');
  });

  it('behind a trusted proxy, counts the forwarded address', async () => {
    const via = (xff: string) => ({ 'x-forwarded-for': xff });
    for (let i = 0; i < MAX; i++) assert.equal((await get(gw!, '127.0.0.5', 'admin:wrong', via('203.0.113.7'))).status, 401);
    const r = await get(gw!, '127.0.0.5', 'admin:public', via('203.0.113.7'));
    lockedOut(r);
    assert.match(r.body.message, /203\.0\.113\.7/);
    // the same proxy, for another client: served
    assert.equal((await get(gw!, '127.0.0.5', 'admin:public', via('203.0.113.8'))).status, 200);
  });

  it("counts the wrong passwords of the dashboard users' checks (v3 POST /auth, PUT /change_pwd) too", async () => {
    const from = '127.0.0.7';
    const v3 = (method: string, path: string, body: object) => httpCall(`${gw!.url}/api/v3${path}`, { method, body, localAddress: from, auth: 'admin:public' });
    assert.equal((await v3('POST', '/auth', { username: 'admin', password: 'public' })).body.code, 0, 'a right password is not counted');
    for (let i = 0; i < MAX - 1; i++) assert.equal((await v3('POST', '/auth', { username: 'admin', password: 'guess' })).body.code, 103);
    assert.equal((await v3('PUT', '/change_pwd/admin', { old_pwd: 'guess', new_pwd: 'x' })).body.code, 114);
    lockedOut(await v3('POST', '/auth', { username: 'admin', password: 'public' }));
  });

  it('lets the address in again once its window has passed', async () => {
    assert.equal((await get(gwShort!, '127.0.0.6', 'admin:wrong')).status, 401);
    lockedOut(await get(gwShort!, '127.0.0.6', 'admin:public'));
    // not a proxy this gateway trusts: the header changes nothing
    lockedOut(await get(gwShort!, '127.0.0.6', 'admin:public', { 'x-forwarded-for': '198.51.100.1' }));
    await eventually(async () => assert.equal((await get(gwShort!, '127.0.0.6', 'admin:public')).status, 200), 10_000, 200);
  });

  // last: it stops Redis for a while
  it('answers 503 (101) while the apps cannot be read, counts no failure for it, and makes the default app again in an empty store', async () => {
    await c!.redis.stop();
    try {
      for (let i = 0; i < 2 * MAX; i++) {
        const r = await get(gwFresh!, '127.0.0.8', 'admin:public');
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal(r.body.code, 101);
        assert.match(r.body.message, /cluster store unavailable/);
      }
    } finally {
      await c!.redis.start();
    }
    // the restarted Redis is empty: the gateway makes the default app again (watched from another address)
    await eventually(async () => assert.equal((await get(gwFresh!, '127.0.0.9', 'admin:public')).status, 200), 10_000, 100);
    assert.equal((await get(gwFresh!, '127.0.0.8', 'admin:public')).status, 200, 'the 503s were not counted');
  });
});
