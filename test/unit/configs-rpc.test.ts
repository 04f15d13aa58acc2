/**
 * node/rpc/configs.ts and node/config/runtime.ts against a real in-process Broker: the
 * options as EMQX 3's configs rows, runtime changes in force at once (new sessions, the
 * authenticator, the sweep's keepalive backoff), read-only and bad values refused, and an
 * update all or none. Calls go through dispatchRpc with params and replies through JSON.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../../node/broker.js';
import type { ConfigRow } from '../../shared/api/configs.js';
import { optionSpecs } from '../../shared/config.js';
import { rpcCaller, startInProcessBroker } from '../support/in-process.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';

let broker: Broker;
let port: number;
let call: ReturnType<typeof rpcCaller>;

before(async () => {
  ({ broker, port } = await startInProcessBroker('configs-test@127.0.0.1'));
  call = rpcCaller(broker);
});

after(async () => {
  await closeAllClients();
  await broker?.stop();
});

const rowOf = async (key: string): Promise<ConfigRow> => (await call('configs.get', {})).find((r) => r.key === key)!;

describe('configs.get', () => {
  it('lists every option of the table, in its order, with its value as text', async () => {
    const rows = await call('configs.get', {});
    assert.deepEqual(rows.map((r) => r.key), optionSpecs().map(([k]) => k));
    assert.deepEqual(await rowOf('nodeName'), { key: 'nodeName', value: 'configs-test@127.0.0.1', datatpye: 'string', app: 'emqx', runtime: false });
    assert.deepEqual(await rowOf('aclNoMatch'), { key: 'aclNoMatch', value: 'allow', datatpye: 'enum', app: 'emqx_mod_acl_internal', runtime: true });
    assert.equal((await rowOf('webHookUrl')).value, '', 'unset');
  });
});

describe('configs.update', () => {
  it('maxMqueue and maxInflight apply to sessions created afterwards', async (t) => {
    assert.deepEqual(await call('configs.update', { app: 'emqx', changes: { maxMqueue: 3, maxInflight: '4' } }), { code: 0 });
    t.after(() => call('configs.update', { changes: { maxMqueue: 1000, maxInflight: 32 } }));
    assert.equal(broker.cfg.maxMqueue, 3);
    const cl = await connectClient(tcpUrl(port), { clientId: uid('mq') }, t);
    const row = (await call('clients.get', { clientid: cl.clientId }))!;
    assert.equal(row.max_mqueue, 3);
    assert.equal(row.max_inflight, 4);
  });

  it('allowAnonymous false refuses a client without a username at once', async (t) => {
    assert.deepEqual(await call('configs.update', { changes: { allowAnonymous: false } }), { code: 0 });
    t.after(() => call('configs.update', { changes: { allowAnonymous: true } }));
    await assert.rejects(connectClient(tcpUrl(port), { clientId: uid('anon') }, t), /Not authorized/);
    assert.deepEqual(await call('configs.update', { changes: { allowAnonymous: 'true' } }), { code: 0 });
    await connectClient(tcpUrl(port), { clientId: uid('anon') }, t);
  });

  it('refuses read-only, unknown and another app\'s keys (102) and bad values (108), all or none', async () => {
    const before = broker.cfg.maxMqueue;
    const readOnly = await call('configs.update', { changes: { maxMqueue: 5, mqttPort: 1 } });
    assert.equal(readOnly.code, 102);
    assert.match('message' in readOnly ? readOnly.message : '', /mqttPort is read-only/);
    assert.equal(broker.cfg.maxMqueue, before, 'nothing set');
    assert.equal((await call('configs.update', { changes: { nope: 1 } })).code, 102);
    assert.equal((await call('configs.update', { app: 'emqx_web_hook', changes: { maxMqueue: 1 } })).code, 102);
    assert.equal((await call('configs.update', { changes: { maxMqueue: 5, keepaliveBackoff: 'x' } })).code, 108);
    assert.equal((await call('configs.update', { changes: { aclNoMatch: 'maybe' } })).code, 108);
    assert.equal(broker.cfg.maxMqueue, before, 'nothing set');
    assert.equal((await call('configs.update', { plugin: 'emqx_nothing', changes: {} })).code, 404);
  });

  it('keepaliveBackoff is set in broker.cfg, where the sweep reads it each second', async (t) => {
    assert.deepEqual(await call('configs.update', { changes: { keepaliveBackoff: 2.5 } }), { code: 0 });
    t.after(() => call('configs.update', { changes: { keepaliveBackoff: 1.5 } }));
    assert.equal(broker.cfg.keepaliveBackoff, 2.5);
    assert.equal((await rowOf('keepaliveBackoff')).value, '2.5');
  });
});

describe('configs.plugin', () => {
  it("answers a plugin's or module's settings, null for an unknown one", async () => {
    assert.deepEqual(await call('configs.plugin', { plugin: 'emqx_auth_username' }), [
      { key: 'usersFile', value: '', desc: optionSpecs().find(([k]) => k === 'usersFile')![1].help, required: false },
    ]);
    assert.deepEqual((await call('configs.plugin', { plugin: 'emqx_mod_rewrite' }))!.map((r) => r.key), ['rewriteRules']);
    assert.equal(await call('configs.plugin', { plugin: 'emqx_nothing' }), null);
  });
});
