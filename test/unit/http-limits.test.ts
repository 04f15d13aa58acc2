// The gateway's answers to oversized and malformed requests, and its last-resort error
// handler: a body past STARLING_API_MAX_BODY (413), a query string past
// STARLING_API_MAX_QUERY (414), a request line past Node's 16 KB (431, from the HTTP parser),
// broken percent-encoding, OPTIONS, and a bug (500): each as JSON with a result code, no
// stack trace, and the gateway serving the next request.
import assert from 'node:assert/strict';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { jsonErrors } from '../../gateway/error-handler.js';
import { createLogger } from '../../shared/logger.js';
import { startFakeCluster, type FakeCluster } from '../support/fake-nodes.js';
import { api, fails } from '../support/gateway.js';

const MAX_BODY = 1000;
const MAX_QUERY = 100;

/** Writes `request` on a connection of its own; the bytes the server sent back until it closed or `ms` passed. */
function raw(port: number, request: string, ms = 1000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => resolve(out));
    s.write(request);
    setTimeout(() => s.destroy(), ms).unref();
  });
}

describe('request limits', () => {
  let fake: FakeCluster;
  before(async () => {
    fake = await startFakeCluster([{ name: 'a@host', handler: async () => ({ node: 'a@host', node_status: 'Running' }) }], { apiMaxBody: MAX_BODY, apiMaxQuery: MAX_QUERY });
  });
  after(() => fake?.close());

  it('a body past the limit: 413 naming the limit', async () => {
    const r = await api(fake.base, 'POST', '/api/v4/mqtt/publish', { body: { topic: 't', payload: 'x'.repeat(MAX_BODY) } });
    fails(r, 413, 108);
    assert.match(r.body.message, new RegExp(`${MAX_BODY} bytes`));
    fails(await api(fake.base, 'POST', '/api/v4/mqtt/publish', { raw: '{"topic":' }), 400, 109);
  });

  it('a query string past the limit: 414, also before credentials are checked', async () => {
    const long = `/api/v4/clients?_like_clientid=${'x'.repeat(MAX_QUERY)}`;
    const r = await api(fake.base, 'GET', long);
    fails(r, 414, 108);
    assert.match(r.body.message, new RegExp(`${MAX_QUERY} bytes`));
    fails(await api(fake.base, 'GET', long, { auth: null }), 414, 108);
    assert.equal((await api(fake.base, 'GET', `/api/v4/nodes?x=${'y'.repeat(MAX_QUERY - 2)}`)).body.code, 0, 'at the limit: served');
  });

  it('a request line past 16 KB: 431 in JSON from the HTTP parser, without the body on a HEAD', async () => {
    const port = fake.gw.port;
    const get = await raw(port, `GET /api/v4/nodes/${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(get, /^HTTP\/1\.1 431 /);
    assert.match(get, /content-type: application\/json/i);
    assert.equal(JSON.parse(get.slice(get.indexOf('\r\n\r\n') + 4)).code, 108);
    const head = await raw(port, `HEAD /api/v4/nodes/${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(head, /^HTTP\/1\.1 431 /);
    assert.equal(head.slice(head.indexOf('\r\n\r\n') + 4), '');
    const garbage = await raw(port, 'NOT HTTP\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    assert.equal((await api(fake.base, 'GET', '/api/v4/nodes')).body.code, 0, 'the gateway serves on');
  });

  it('broken percent-encoding and OPTIONS: JSON 4xx', async () => {
    fails(await api(fake.base, 'GET', '/api/v4/clients/%E0%A4%A'), 400, 108);
    fails(await api(fake.base, 'OPTIONS', '/api/v4/nodes'), 404, 404);
    fails(await api(fake.base, 'OPTIONS', '/api/v3/nodes'), 404, 404);
  });
});

describe('the JSON error handler', () => {
  let server: Server;
  let base: string;
  before(async () => {
    const app = express();
    app.get('/bug', () => {
      throw new Error('a bug at /srv/app/file.js:1:2');
    });
    app.get('/half', (_req, res) => {
      res.write('{"partial":');
      throw new Error('after the headers');
    });
    app.use(jsonErrors(createLogger('silent')));
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('answers a bug 500 "internal error", without its message or stack', async () => {
    const r = await api(base, 'GET', '/bug');
    fails(r, 500, 102);
    assert.equal(r.body.message, 'internal error');
  });

  it('ends the connection when half an answer is already out, never Express\'s own page', async () => {
    await assert.rejects(fetch(`${base}/half`).then((r) => r.text()));
  });
});
