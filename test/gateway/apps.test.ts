// /api/v4/apps against a real cluster and a gateway process: the default admin/public app,
// create/list/get/update/delete, and the credentials of the apps taking effect for API calls,
// on every gateway of the cluster (a second gateway sees each change made through the first).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { api, startGateway, unauthorized, type GatewayProcess } from '../support/gateway.js';

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
let gw2: GatewayProcess | undefined;
let base = '';
let base2 = '';

before(async () => {
  c = await startCluster(['n1', 'n2', 'n3']);
  [gw, gw2] = await Promise.all([startGateway(c), startGateway(c)]);
  base = gw.url;
  base2 = gw2.url;
});

after(async () => {
  await Promise.allSettled([gw?.stop(), gw2?.stop()]);
  await c?.stop();
});

const DEFAULT_ROW = { app_id: 'admin', name: 'Default', desc: 'Application user', status: true, expired: 'undefined' };

function assertError(r: { status: number; body: any }, status: number, code: number): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.code, code, JSON.stringify(r.body));
  assert.equal(typeof r.body.message, 'string');
}

/** Status of an authenticated API call made with `auth` (user:secret), through the gateway at `at`. */
const statusWith = async (auth: string, at = base): Promise<number> => (await api(at, 'GET', '/api/v4/brokers', { auth })).status;

/** Waits until calls with `auth` answer `status` (apps reach the gateway's cache by change notice). */
const authBecomes = (auth: string, status: number, at = base): Promise<void> =>
  eventually(async () => assert.equal(await statusWith(auth, at), status, `calls as ${auth.split(':')[0]}`), 2000);

/** Waits until both gateways answer `status` to `auth`; then a refusal is the 401 of bad credentials on each. */
async function everywhere(auth: string, status: number): Promise<void> {
  for (const at of [base, base2]) {
    await authBecomes(auth, status, at);
    if (status === 401) unauthorized(await api(at, 'GET', '/api/v4/brokers', { auth }), 103);
  }
}

describe('apps', () => {
  it('has the default admin/public app on first start', async () => {
    const r = await api(base, 'GET', '/api/v4/apps');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { data: [DEFAULT_ROW], code: 0 });
    assert.deepEqual((await api(base, 'GET', '/api/v4/apps/admin')).body, { data: DEFAULT_ROW, code: 0 });
    assert.equal(await statusWith('admin:public'), 200);
  });

  it('creates, lists, looks up, updates and deletes an app whose credentials work meanwhile', async () => {
    const created = await api(base, 'POST', '/api/v4/apps', { body: { app_id: 'ops', name: 'Ops', desc: 'operators', status: true, expired: 'undefined' } });
    assert.equal(created.status, 200);
    assert.deepEqual(Object.keys(created.body).sort(), ['code', 'data']);
    assert.equal(created.body.code, 0);
    assert.deepEqual(Object.keys(created.body.data), ['secret']);
    const secret: string = created.body.data.secret;
    assert.ok(secret.length >= 16, 'a generated secret');
    await authBecomes(`ops:${secret}`, 200);
    assert.equal(await statusWith('ops:wrong'), 401);

    const row = { app_id: 'ops', name: 'Ops', desc: 'operators', status: true, expired: 'undefined' };
    const listed = await api(base, 'GET', '/api/v4/apps');
    assert.deepEqual(listed.body, { data: [DEFAULT_ROW, row], code: 0 });
    // the secret is stored hashed: the lookup answers without it
    assert.deepEqual((await api(base, 'GET', '/api/v4/apps/ops', { auth: `ops:${secret}` })).body, { data: row, code: 0 });

    assert.deepEqual((await api(base, 'PUT', '/api/v4/apps/ops', { body: { name: 'Ops team', desc: 'on call', status: true, expired: 'undefined' } })).body, { code: 0 });
    assert.deepEqual((await api(base, 'GET', '/api/v4/apps/ops')).body.data, { ...row, name: 'Ops team', desc: 'on call' });
    assert.equal(await statusWith(`ops:${secret}`), 200, 'the secret survives an update');

    // disabled: refused with 401
    assert.deepEqual((await api(base, 'PUT', '/api/v4/apps/ops', { body: { status: false } })).body, { code: 0 });
    assert.deepEqual((await api(base, 'GET', '/api/v4/apps/ops')).body.data, { ...row, name: 'Ops team', desc: 'on call', status: false });
    await authBecomes(`ops:${secret}`, 401);
    const refused = await api(base, 'GET', '/api/v4/brokers', { auth: `ops:${secret}` });
    assert.equal(refused.body.code, 103);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    assert.deepEqual((await api(base, 'PUT', '/api/v4/apps/ops', { body: { status: true } })).body, { code: 0 });
    await authBecomes(`ops:${secret}`, 200);

    assert.deepEqual((await api(base, 'DELETE', '/api/v4/apps/ops')).body, { code: 0 });
    await authBecomes(`ops:${secret}`, 401);
    assert.deepEqual((await api(base, 'GET', '/api/v4/apps')).body, { data: [DEFAULT_ROW], code: 0 });
  });

  it('keeps a given secret and honours `expired`', async (t) => {
    t.after(() => api(base, 'DELETE', '/api/v4/apps/given'));
    const given = await api(base, 'POST', '/api/v4/apps', { body: { app_id: 'given', name: 'Given', secret: 's3cret-value', desc: '', status: true } });
    assert.deepEqual(given.body, { data: { secret: 's3cret-value' }, code: 0 });
    await authBecomes('given:s3cret-value', 200);
    const future = Math.floor(Date.now() / 1000) + 3600;
    assert.deepEqual((await api(base, 'PUT', '/api/v4/apps/given', { body: { expired: future } })).body, { code: 0 });
    assert.equal((await api(base, 'GET', '/api/v4/apps/given')).body.data.expired, future);

    await authBecomes('given:s3cret-value', 200);
    // expired: refused like a disabled app
    const past = Math.floor(Date.now() / 1000) - 60;
    assert.deepEqual((await api(base, 'PUT', '/api/v4/apps/given', { body: { expired: past } })).body, { code: 0 });
    await authBecomes('given:s3cret-value', 401);
    assert.deepEqual((await api(base, 'PUT', '/api/v4/apps/given', { body: { expired: null } })).body, { code: 0 });
    assert.equal((await api(base, 'GET', '/api/v4/apps/given')).body.data.expired, 'undefined', 'null: never expires');
    await authBecomes('given:s3cret-value', 200);
  });

  it('answers 113, 105, 106 and malformed bodies', async (t) => {
    t.after(() => api(base, 'DELETE', '/api/v4/apps/dup'));
    assert.equal((await api(base, 'POST', '/api/v4/apps', { body: { app_id: 'dup', name: 'Dup' } })).body.code, 0);
    const dup = await api(base, 'POST', '/api/v4/apps', { body: { app_id: 'dup', name: 'Again' } });
    assertError(dup, 200, 113);
    assertError(await api(base, 'POST', '/api/v4/apps', { body: { app_id: 'admin', name: 'x' } }), 200, 113);
    assertError(await api(base, 'PUT', '/api/v4/apps/nope', { body: { name: 'x' } }), 200, 105);
    assertError(await api(base, 'DELETE', '/api/v4/apps/nope'), 200, 105);
    assertError(await api(base, 'DELETE', '/api/v4/apps/admin'), 200, 106);
    // a lookup finding nothing: code 0 and an empty object, as EMQX 4.x answers
    assert.deepEqual((await api(base, 'GET', '/api/v4/apps/nope')).body, { data: {}, code: 0 });

    assertError(await api(base, 'POST', '/api/v4/apps', { body: { name: 'no id' } }), 400, 107);
    assertError(await api(base, 'POST', '/api/v4/apps', { body: { app_id: 'noname' } }), 400, 107);
    assertError(await api(base, 'POST', '/api/v4/apps', { body: { app_id: 'a:b', name: 'colon' } }), 400, 108);
    assertError(await api(base, 'POST', '/api/v4/apps', { body: { app_id: 'x1', name: 'x', status: 'yes' } }), 400, 108);
    assertError(await api(base, 'POST', '/api/v4/apps', { body: { app_id: 'x2', name: 'x', expired: 'never' } }), 400, 108);
    assertError(await api(base, 'POST', '/api/v4/apps', { body: { app_id: 'x3', name: 'x', secret: 7 } }), 400, 108);
    assertError(await api(base, 'PUT', '/api/v4/apps/dup', { body: { desc: 5 } }), 400, 108);
    assertError(await api(base, 'POST', '/api/v4/apps', { raw: 'nope' }), 400, 109);
    // nothing malformed was stored
    assert.deepEqual(
      (await api(base, 'GET', '/api/v4/apps')).body.data.map((a: { app_id: string }) => a.app_id),
      ['admin', 'dup'],
    );
  });
});

describe('apps across gateways', () => {
  const secret = 'cluster-wide-secret';
  const auth = `remote:${secret}`;
  const put = (at: string, body: object) => api(at, 'PUT', '/api/v4/apps/remote', { body });

  before(async () => {
    const r = await api(base, 'POST', '/api/v4/apps', { body: { app_id: 'remote', name: 'Remote', secret } });
    assert.equal(r.body.code, 0, JSON.stringify(r.body));
  });
  after(() => api(base, 'DELETE', '/api/v4/apps/remote'));

  it('a disabled app is refused by every gateway, and accepted again once enabled', async () => {
    await everywhere(auth, 200);
    assert.deepEqual((await put(base, { status: false })).body, { code: 0 });
    await everywhere(auth, 401);
    // and back, changed through the other gateway
    assert.deepEqual((await put(base2, { status: true })).body, { code: 0 });
    await everywhere(auth, 200);
  });

  it('an app whose `expired` date is past is refused by every gateway', async () => {
    await everywhere(auth, 200);
    assert.deepEqual((await put(base2, { expired: Math.floor(Date.now() / 1000) - 1 })).body, { code: 0 });
    await everywhere(auth, 401);
    assert.deepEqual((await put(base, { expired: 'undefined' })).body, { code: 0 });
    await everywhere(auth, 200);
  });

  it('an app expires by itself at its `expired` second, with no change to announce', async () => {
    // the gateways' cached record is the one with the date: it is checked at each request
    const at = Math.floor(Date.now() / 1000) + 2;
    assert.deepEqual((await put(base, { expired: at })).body, { code: 0 });
    await eventually(async () => {
      for (const g of [base, base2]) assert.equal(await statusWith(auth, g), 401);
    }, 6000);
    assert.ok(Date.now() >= at * 1000, 'refused only once expired');
    assert.deepEqual((await put(base, { expired: 'undefined' })).body, { code: 0 });
    await everywhere(auth, 200);
  });
});
