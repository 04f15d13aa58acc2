// Access control over every endpoint table: each route of /api/v4 and /api/v3 (and the two
// listings), on every port a gateway serves the API on (its API port, EMQX 3.x's port and the
// dashboard's), answers 401 with WWW-Authenticate and a JSON 103/104 body without or with
// wrong credentials, whatever the method. Only /status and /metrics (unless
// STARLING_METRICS_AUTH) answer without, and the dashboard's static files, which hold no data.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources as v3Resources } from '../../gateway/api/v3/index.js';
import { resources as v4Resources } from '../../gateway/api/v4/index.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { api, BAD_CREDENTIALS, startGateway, unauthorized, type GatewayProcess } from '../support/gateway.js';

let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
let gwMetricsAuth: GatewayProcess | undefined;

before(async () => {
  c = await startCluster(['n1']);
  // every failed attempt here is on purpose: no lock-out of the test's address
  const noLimit = { STARLING_API_AUTH_MAX_FAILURES: '0' };
  [gw, gwMetricsAuth] = await Promise.all([
    startGateway(c, { ...noLimit, STARLING_API_V3_PORT: '0', STARLING_DASHBOARD_PORT: '0' }),
    startGateway(c, { ...noLimit, STARLING_METRICS_AUTH: 'true' }),
  ]);
});

after(async () => {
  await Promise.allSettled([gw?.stop(), gwMetricsAuth?.stop()]);
  await c?.stop();
});

/** A concrete path for a table's path: every `:param` a plausible value. */
const concrete = (path: string): string => path.replace(/:(\w+)/g, (_m, name: string) => (name === 'node' ? 'n1%40127.0.0.1' : `x-${name}`));

/** Every route of every table, as method and full path, and the listings of both versions. */
function everyRoute(): { method: string; path: string }[] {
  const routes = [
    { method: 'GET', path: '/api/v4' },
    { method: 'GET', path: '/api/v4/' },
    { method: 'GET', path: '/api/v3/' },
  ];
  for (const [prefix, tables] of [['/api/v4', v4Resources], ['/api/v3', v3Resources]] as const) {
    for (const e of tables.flat()) routes.push({ method: e.method, path: prefix + concrete(e.path) });
  }
  return routes;
}

const ports = (g: GatewayProcess): [string, number][] => [
  ['api', g.port],
  ['v3', g.v3Port!],
  ['dashboard', g.dashboardPort!],
];

describe('every endpoint table behind Basic auth', () => {
  it('covers every endpoint the listings show', async () => {
    // the tables are imported, so one added later is covered without touching this test
    const v4 = await api(gw!.url, 'GET', '/api/v4');
    const v3 = await api(gw!.url, 'GET', '/api/v3/');
    assert.equal(everyRoute().length, 3 + v4.body.data.length + v3.body.data.length);
  });

  it('answers 401 (104 without, 103 with wrong credentials) on every route, on every port', async () => {
    const leaks: string[] = [];
    for (const [portName, port] of ports(gw!)) {
      const base = `http://127.0.0.1:${port}`;
      for (const { method, path } of everyRoute()) {
        for (const [auth, code] of BAD_CREDENTIALS) {
          const r = await api(base, method, path, { auth, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
          try {
            unauthorized(r, code);
          } catch (err) {
            leaks.push(`${portName} ${method} ${path} as ${auth ?? 'nobody'}: ${(err as Error).message.split('\n')[0]}`);
          }
        }
      }
    }
    assert.deepEqual(leaks, []);
  });

  it('answers 401 to other methods, unknown paths and odd spellings under /api too', async () => {
    const base = gw!.url;
    const odd = [
      ['PATCH', '/api/v4/clients'],
      ['OPTIONS', '/api/v4/clients'],
      ['HEAD', '/api/v4/brokers'],
      ['GET', '/api/v4/no-such-resource'],
      ['GET', '/api/v3/no-such-resource'],
      ['GET', '/API/V4/clients'],
      ['GET', '/api/v4//clients'],
      ['GET', '/api/v4/clients/'],
      ['GET', '/api/v4/%63lients'],
    ];
    for (const [method, path] of odd) {
      for (const [auth, code] of BAD_CREDENTIALS) {
        const r = await api(base, method!, path!, { auth });
        if (method === 'HEAD') {
          assert.equal(r.status, 401, `${method} ${path}`);
          assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm=/);
        } else {
          unauthorized(r, code);
        }
      }
    }
  });

  it('answers only /status, /metrics and the dashboard\'s static files without credentials', async () => {
    const base = gw!.url;
    assert.equal((await api(base, 'GET', '/status', { auth: null })).status, 200);
    const metrics = await api(base, 'GET', '/metrics', { auth: null });
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /starling_node_up/);
    const page = await api(base, 'GET', '/dashboard/', { auth: null });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  });

  it('asks for an app\'s credentials on /metrics with STARLING_METRICS_AUTH', async () => {
    const base = gwMetricsAuth!.url;
    for (const [auth, code] of BAD_CREDENTIALS) unauthorized(await api(base, 'GET', '/metrics', { auth }), code);
    const r = await api(base, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.body, /starling_node_up/);
    assert.equal((await api(base, 'GET', '/status', { auth: null })).status, 200);
  });
});
