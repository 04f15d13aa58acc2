// The data_to_webserver action (node/rules/actions/data-to-webserver.ts) through a web_hook
// resource instance, against an HTTP server this test runs: templated path, headers and
// body; the selected data as JSON for an empty body; a burst of 200 over at most pool_size
// TCP connections; failures (server down, non-2xx) reject, which the engine counts.
// The instance is made directly here (ActionHost over a resource instance); once the rule
// engine is merged, a rule through the API drives the same action (test/gateway/rules*).
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createLogger } from '../../shared/logger.js';
import type { ActionHost, ResourceInstance } from '../../node/rules/contracts.js';
import { dataToWebserverAction } from '../../node/rules/actions/data-to-webserver.js';
import { webHookResourceType } from '../../node/rules/resource-types/web-hook.js';
import { startHttpSink, type HttpSink } from '../support/http-sink.js';

const log = createLogger('silent');
let sink: HttpSink;
let resource: ResourceInstance;

before(async () => {
  sink = await startHttpSink();
  resource = webHookResourceType.create({ url: `${sink.url}/hook`, pool_size: 4, headers: { 'X-From': 'starling' }, request_timeout: '2s' }, log);
});

after(async () => {
  await resource.close();
  await sink.close();
});

const host = (r: ResourceInstance | undefined = resource): ActionHost => ({ nodeName: 'n1@127.0.0.1', publish() {}, dropIfUnrouted: () => false, resource: (id) => (id === 'resource:w' ? r : undefined), log });

it('the action type as GET /actions shows it: EMQX params, for $any, on web_hook', () => {
  assert.equal(dataToWebserverAction.name, 'data_to_webserver');
  assert.equal(dataToWebserverAction.app, 'emqx_web_hook');
  assert.equal(dataToWebserverAction.for, '$any');
  assert.deepEqual(dataToWebserverAction.types, ['web_hook']);
  assert.deepEqual(Object.keys(dataToWebserverAction.params).sort(), ['$resource', 'body', 'headers', 'method', 'path']);
  assert.equal(dataToWebserverAction.params.$resource!.required, true);
  assert.deepEqual(dataToWebserverAction.params.method!.enum, ['POST', 'DELETE', 'PUT', 'GET']);
});

it('creating refuses a missing resource, an unknown one and bad params', () => {
  assert.throws(() => dataToWebserverAction.create({}, host()), /\$resource: required/);
  assert.throws(() => dataToWebserverAction.create({ $resource: 'resource:none' }, host()), /not found/);
  assert.throws(() => dataToWebserverAction.create({ $resource: 'resource:w', method: 'PATCH' }, host()), /method/);
});

it('delivers the templated path, headers and body; an empty body is the selected data as JSON', async () => {
  sink.requests.length = 0;
  const a = dataToWebserverAction.create({ $resource: 'resource:w', path: '/${clientid}/x', headers: { 'x_topic': '${topic}' }, body: '{"t":"${topic}","temp":${payload.temp}}' }, host());
  await a.run({ clientid: 'c1', topic: 't/1', payload: '{"temp":21.5}' }, {});
  const plain = dataToWebserverAction.create({ $resource: 'resource:w', method: 'PUT' }, host());
  await plain.run({ clientid: 'c2', n: 1 }, {});
  const got = dataToWebserverAction.create({ $resource: 'resource:w', method: 'GET', path: 'q' }, host());
  await got.run({ clientid: 'c3' }, {});
  assert.equal(sink.requests.length, 3);
  const [first, second, third] = sink.requests;
  assert.equal(first!.method, 'POST');
  assert.equal(first!.url, '/hook/c1/x');
  assert.equal(first!.body, '{"t":"t/1","temp":21.5}');
  assert.equal(first!.headers['x-topic'], 't/1');
  assert.equal(first!.headers['x-from'], 'starling');
  assert.equal(first!.headers['content-type'], 'application/json');
  assert.equal(second!.method, 'PUT');
  assert.equal(second!.url, '/hook');
  assert.deepEqual(JSON.parse(second!.body), { clientid: 'c2', n: 1 });
  assert.equal(third!.method, 'GET');
  assert.equal(third!.url, '/hook/q');
  assert.equal(third!.body, '');
  assert.equal(third!.headers['content-type'], undefined);
});

it('a burst of 200 goes over at most pool_size TCP connections', async () => {
  const before = sink.connections;
  sink.requests.length = 0;
  const a = dataToWebserverAction.create({ $resource: 'resource:w', body: '${i}' }, host());
  await Promise.all(Array.from({ length: 200 }, (_, i) => a.run({ i }, {})));
  assert.equal(sink.requests.length, 200);
  assert.deepEqual(sink.requests.map((r) => Number(r.body)).sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i));
  const opened = sink.connections - before;
  assert.ok(opened <= 4, `${opened} connections opened for 200 requests (pool_size 4)`);
});

it('a non-2xx answer and a server that is down reject: the action failed', async () => {
  const a = dataToWebserverAction.create({ $resource: 'resource:w' }, host());
  sink.status = 500;
  await assert.rejects(Promise.resolve(a.run({ x: 1 }, {})), /status code 500/);
  sink.status = 200;
  const down = webHookResourceType.create({ url: 'http://127.0.0.1:1/' }, log);
  const b = dataToWebserverAction.create({ $resource: 'resource:w' }, host(down));
  await assert.rejects(Promise.resolve(b.run({ x: 1 }, {})), /ECONNREFUSED/);
  assert.equal(await down.healthCheck(), false);
  assert.equal(await resource.healthCheck(), true);
  await down.close();
});
