// The pieces behind resources and data_to_webserver, table-driven: `${field}` templates,
// params checked against a schema (defaults, types, enums, unknown names), EMQX durations,
// export file names (nothing that could name a path), and the node's resource instances
// following the cluster's records (made, remade on a config change, closed on delete).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { validDataFilename } from '../../shared/api/data-files.js';
import { ParamError } from '../../shared/api/query-schema.js';
import { createLogger } from '../../shared/logger.js';
import { hasPlaceholder, template } from '../../node/rules/actions/template.js';
import type { ParamsSchema } from '../../node/rules/contracts.js';
import { checkSchema, durationMs } from '../../node/rules/params-check.js';
import { WebHookResource, webHookConfig } from '../../node/rules/resource-types/web-hook.js';
import { Resources } from '../../node/rules/resources.js';

test('templates render fields, nested JSON payload fields, non-strings as JSON, missing ones as empty text', () => {
  const data = { clientid: 'c1', qos: 1, payload: '{"a":{"b":[1,2]},"s":"x"}', obj: { k: true }, nil: null };
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['${clientid}', 'c1'],
    ['/${clientid}/${qos}', '/c1/1'],
    ['${payload.s}-${payload.a.b}', 'x-[1,2]'],
    ['${obj}', '{"k":true}'],
    ['${ clientid }', 'c1'],
    ['${missing}|${nil}|${payload.none}', '||'],
    ['${payload}', '{"a":{"b":[1,2]},"s":"x"}'],
    ['$ {x} ${', '$ {x} ${'],
  ];
  for (const [src, want] of cases) assert.equal(template(src)(data, {}), want, src);
  assert.equal(hasPlaceholder('abc'), false);
  assert.equal(hasPlaceholder('a${b}'), true);
});

const SCHEMA: ParamsSchema = {
  url: { type: 'string', required: true, title: { en: '', zh: '' }, description: { en: '', zh: '' } },
  n: { type: 'number', default: 8, title: { en: '', zh: '' }, description: { en: '', zh: '' } },
  m: { type: 'string', enum: ['A', 'B'], default: 'A', title: { en: '', zh: '' }, description: { en: '', zh: '' } },
  h: { type: 'object', default: {}, title: { en: '', zh: '' }, description: { en: '', zh: '' } },
  on: { type: 'boolean', title: { en: '', zh: '' }, description: { en: '', zh: '' } },
};

test('a config is checked against its schema: defaults filled, faults named with 108', () => {
  assert.deepEqual(checkSchema(SCHEMA, { url: 'u' }), { url: 'u', n: 8, m: 'A', h: {} });
  assert.deepEqual(checkSchema(SCHEMA, { url: 'u', n: 2, m: 'B', h: { x: 'y' }, on: false }), { url: 'u', n: 2, m: 'B', h: { x: 'y' }, on: false });
  const bad: [unknown, RegExp][] = [
    [null, /config: must be an object/],
    [[], /config: must be an object/],
    [{}, /config\.url: required/],
    [{ url: 1 }, /config\.url: must be a string/],
    [{ url: 'u', n: '8' }, /config\.n: must be a number/],
    [{ url: 'u', n: Infinity }, /config\.n: must be a number/],
    [{ url: 'u', m: 'C' }, /config\.m: "C" is not one of "A", "B"/],
    [{ url: 'u', h: [] }, /config\.h: must be an object/],
    [{ url: 'u', on: 'yes' }, /config\.on: must be a boolean/],
    [{ url: 'u', extra: 1 }, /config\.extra: unknown parameter/],
  ];
  for (const [v, why] of bad) {
    assert.throws(
      () => checkSchema(SCHEMA, v),
      (e: unknown) => e instanceof ParamError && e.code === 108 && why.test(e.message),
      JSON.stringify(v),
    );
  }
});

test('durations as EMQX configs write them', () => {
  const cases: [unknown, number][] = [
    ['5s', 5000],
    ['500ms', 500],
    ['1m', 60_000],
    ['2', 2000],
    [3, 3000],
    ['1.5s', 1500],
  ];
  for (const [v, ms] of cases) assert.equal(durationMs(v, 'x'), ms, String(v));
  for (const v of ['soon', '', '-1s', '5 parsecs', {}]) assert.throws(() => durationMs(v, 'x'), ParamError, String(v));
});

test('export file names: a safe character set, never a path', () => {
  for (const ok of ['emqx-export-2020-5-18-17-17-44.json', 'a', 'A_b-c.d.json', 'x'.repeat(128)]) assert.equal(validDataFilename(ok), true, ok);
  for (const bad of ['', '.', '..', '../x', 'a/b', 'a\\b', '/abs', 'a\u0000b', '.hidden', 'a..b', 'a b', 'x'.repeat(129), 'é', 'a:b', '%2e%2e']) assert.equal(validDataFilename(bad), false, JSON.stringify(bad));
});

test('the node keeps one instance per resource: made, kept while unchanged, remade on a change, closed on delete', () => {
  const r = new Resources(createLogger('silent'));
  const rec = (url: string) => ({ id: 'resource:a', type: 'web_hook', config: { url }, description: '', created_at: 1 });
  r.apply([rec('http://127.0.0.1:1/'), { id: 'resource:odd', type: 'no_such_type', config: {}, description: '', created_at: 2 }]);
  const first = r.get('resource:a') as WebHookResource;
  assert.ok(first instanceof WebHookResource);
  assert.equal(r.get('resource:odd'), undefined, 'an unknown type is not instantiated');
  r.apply([rec('http://127.0.0.1:1/')]);
  assert.equal(r.get('resource:a'), first, 'unchanged: the same instance');
  r.apply([rec('http://127.0.0.1:2/')]);
  const second = r.get('resource:a') as WebHookResource;
  assert.notEqual(second, first);
  assert.equal(first.closed, true);
  r.apply([]);
  assert.equal(r.get('resource:a'), undefined);
  assert.equal(second.closed, true);
  assert.deepEqual(r.typeRows().map((t) => t.name), ['web_hook']);
  assert.throws(() => r.check('web_hook', { url: 'mailto:x' }), /http or https/);
  assert.throws(() => r.check('nope', {}), /no resource type "nope"/);
});

test('a web_hook resource lets at most 256 requests per connection wait: past that a request fails at once', async () => {
  // a server that takes requests and never answers
  const held: { destroy(): void }[] = [];
  const server = createServer((_req, res) => void held.push(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const r = new WebHookResource(webHookConfig({ url: `http://127.0.0.1:${port}/`, pool_size: 1, request_timeout: '30s' }));
  try {
    const waiting = Array.from({ length: 256 }, () => r.send('POST', '/', {}, 'x'));
    for (const w of waiting) w.catch(() => {});
    await assert.rejects(r.send('POST', '/', {}, 'x'), /overloaded: 256 requests waiting for 1 connections/);
  } finally {
    r.close();
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
