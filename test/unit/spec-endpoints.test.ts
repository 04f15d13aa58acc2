// What GET /api/v4 lists, against the endpoints of EMQX's API v4 document
// (test/data/emqx-v4-endpoints.json, derived from it once: see test/data/README.md): every
// endpoint served is in the document (or one of the few known additions), and the
// document's endpoints not served yet are exactly the expected ones. A gateway in this
// process, with no node, answers the listing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, it } from 'node:test';
import { startGateway, type RunningGateway } from '../../gateway/server.js';
import { InProcessHub, InProcessRpcTransport } from '../../shared/cluster/in-process-rpc.js';
import { MemoryStore } from '../../shared/cluster/memory-store.js';
import { createLogger } from '../../shared/logger.js';
import { REPO_ROOT } from '../support/broker.js';
import { api } from '../support/gateway.js';

interface SpecEndpoint {
  method: string;
  path: string;
  heading: string;
}

const SPEC: SpecEndpoint[] = JSON.parse(readFileSync(`${REPO_ROOT}test/data/emqx-v4-endpoints.json`, 'utf8'));

/** The document's endpoints no table serves yet, by why. Remove a group's lines as its endpoints land. */
const NOT_SERVED_YET: Record<string, string[]> = {
  // EMQX Enterprise only
  license: ['POST /license/upload'],
};

/** Served though the document does not list them. */
const BEYOND_THE_SPEC = [
  // EMQX's emqx_mgmt_api_apps, which the v4 document leaves out (the dashboard's API keys)
  'GET /apps',
  'POST /apps',
  'GET /apps/:appid',
  'PUT /apps/:appid',
  'DELETE /apps/:appid',
  // the document writes /node/{node}/acl-cache; the /nodes/ form every other per-node path has is served too
  'DELETE /nodes/:node/acl-cache',
];

let gw: RunningGateway | undefined;
let store: MemoryStore | undefined;

before(async () => {
  const log = createLogger('silent');
  store = new MemoryStore({ log });
  await store.start();
  gw = await startGateway({ transport: new InProcessRpcTransport(new InProcessHub()), store, log, bind: '127.0.0.1', port: 0, rpcTimeoutMs: 1000, heartbeatTtlMs: 5000 });
});

after(async () => {
  await gw?.close();
  await store?.close();
});

/** The difference of two lists, as a failure message can show it. */
function diff(label: string, got: string[], want: string[], names: [extra: string, lacking: string]): string {
  const extra = got.filter((e) => !want.includes(e));
  const lacking = want.filter((e) => !got.includes(e));
  return `${label}:\n  ${names[0]}: ${extra.length ? extra.join(', ') : '(none)'}\n  ${names[1]}: ${lacking.length ? lacking.join(', ') : '(none)'}`;
}

it('the spec list is the document\'s, in its order, each endpoint once', () => {
  assert.equal(SPEC.length, 87);
  const keys = SPEC.map((e) => `${e.method} ${e.path}`);
  assert.equal(new Set(keys).size, keys.length);
  for (const e of SPEC) {
    assert.match(e.method, /^(GET|POST|PUT|DELETE)$/);
    assert.ok(e.path === '/' || /^(\/(:?[\w-]+))+$/.test(e.path), e.path);
    assert.ok(e.heading.startsWith(`${e.method} `), e.heading);
  }
  assert.deepEqual(keys.slice(0, 3), ['GET /', 'GET /brokers', 'GET /brokers/:node']);
  for (const group of Object.values(NOT_SERVED_YET)) for (const e of group) assert.ok(keys.includes(e), `${e} is in the document`);
});

it('GET /api/v4 lists only endpoints of the document (and the known additions), and the rest of the document is exactly what is not served yet', async () => {
  const r = await api(`http://127.0.0.1:${gw!.port}`, 'GET', '/api/v4');
  assert.equal(r.status, 200);
  assert.equal(r.body.code, 0);
  // the listing itself is served: this request is its proof
  const served = ['GET /', ...(r.body.data as { method: string; path: string }[]).map((e) => `${e.method} ${e.path}`)];
  const spec = SPEC.map((e) => `${e.method} ${e.path}`);

  const beyond = served.filter((e) => !spec.includes(e));
  assert.deepEqual(beyond.sort(), [...BEYOND_THE_SPEC].sort(), diff('served but not in the document', beyond, BEYOND_THE_SPEC, ['not in BEYOND_THE_SPEC', 'in BEYOND_THE_SPEC but not served']));

  const missing = spec.filter((e) => !served.includes(e));
  const expected = Object.values(NOT_SERVED_YET).flat();
  assert.deepEqual(missing.sort(), [...expected].sort(), diff('the document\'s endpoints not served (update NOT_SERVED_YET as endpoints land)', missing, expected, ['not served, not in NOT_SERVED_YET', 'served now: remove from NOT_SERVED_YET']));
});
