// node/rpc/clients.ts: every ClientQuery field evaluated as EMQX 4.x's client list does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFiltered, matchClient, type ClientRecord } from '../../node/rpc/clients.js';
import type { ClientQuery, ClientRow } from '../../shared/api/clients.js';

// created at 1000.5 s, connected at 2000.25 s (epoch ms below)
const CREATED_MS = 1_000_500;
const CONNECTED_MS = 2_000_250;

function record(row: Partial<ClientRow> = {}, extra: Partial<Omit<ClientRecord, 'fields'>> = {}): ClientRecord {
  const base: ClientRow = {
    node: 'n1@127.0.0.1',
    clientid: 'sensor-42',
    username: 'alice',
    proto_name: 'MQTT',
    proto_ver: 4,
    ip_address: '127.0.0.1',
    port: 50000,
    is_bridge: false,
    connected_at: '1970-01-01 00:33:20',
    connected: true,
    zone: 'external',
    keepalive: 60,
    clean_start: true,
    expiry_interval: 0,
    created_at: '1970-01-01 00:16:40',
    subscriptions_cnt: 0,
    max_subscriptions: 0,
    inflight: 0,
    max_inflight: 32,
    mqueue_len: 5,
    max_mqueue: 1000,
    mqueue_dropped: 7,
    awaiting_rel: 0,
    max_awaiting_rel: 100,
    recv_oct: 0,
    recv_cnt: 0,
    recv_pkt: 0,
    recv_msg: 0,
    send_oct: 0,
    send_cnt: 0,
    send_pkt: 0,
    send_msg: 0,
    mailbox_len: 0,
    heap_size: 0,
    reductions: 0,
  };
  // a row carries every filterable field, so it serves as the record's fields
  return { fields: { ...base, ...row }, createdAtMs: CREATED_MS, connectedAtMs: CONNECTED_MS, connState: 'connected', ...extra };
}

type Case = [name: string, q: ClientQuery, expected: boolean, rec?: ClientRecord];

const cases: Case[] = [
  ['empty query matches', {}, true],
  ['clientid exact', { clientid: 'sensor-42' }, true],
  ['clientid exact is not a substring match', { clientid: 'sensor' }, false],
  ['clientid exact is case-sensitive', { clientid: 'SENSOR-42' }, false],
  ['username exact', { username: 'alice' }, true],
  ['username other', { username: 'bob' }, false],
  ['username on a client without one', { username: 'alice' }, false, record({ username: null })],
  ['zone', { zone: 'external' }, true],
  ['zone other', { zone: 'internal' }, false],
  ['ip_address', { ip_address: '127.0.0.1' }, true],
  ['ip_address other', { ip_address: '10.0.0.1' }, false],
  ['conn_state connected', { conn_state: 'connected' }, true],
  ['conn_state disconnected on a connected client', { conn_state: 'disconnected' }, false],
  ['conn_state disconnected on an offline session', { conn_state: 'disconnected' }, true, record({ connected: false }, { connState: 'disconnected' })],
  ['conn_state idle', { conn_state: 'idle' }, false],
  ['clean_start true', { clean_start: true }, true],
  ['clean_start false', { clean_start: false }, false],
  ['clean_start false on a persistent session', { clean_start: false }, true, record({ clean_start: false })],
  ['proto_name', { proto_name: 'MQTT' }, true],
  ['proto_name MQIsdp', { proto_name: 'MQIsdp' as ClientQuery['proto_name'] }, false],
  ['proto_ver', { proto_ver: 4 }, true],
  ['proto_ver 5', { proto_ver: 5 }, false],
  ['_like_clientid substring', { _like_clientid: 'sor-4' }, true],
  ['_like_clientid prefix', { _like_clientid: 'sensor' }, true],
  ['_like_clientid whole', { _like_clientid: 'sensor-42' }, true],
  ['_like_clientid absent substring', { _like_clientid: 'sensor-43' }, false],
  ['_like_clientid is no regex', { _like_clientid: 'sensor.42' }, false],
  ['_like_clientid regex characters literal', { _like_clientid: '(x)' }, true, record({ clientid: 'a(x)b' })],
  ['_like_username substring', { _like_username: 'lic' }, true],
  ['_like_username absent', { _like_username: 'bob' }, false],
  ['_like_username on no username', { _like_username: 'a' }, false, record({ username: null })],
  ['_like_clientid ignored beside an exact clientid (EMQX)', { clientid: 'sensor-42', _like_clientid: 'nothing' }, true],
  ['_like_username ignored beside an exact username (EMQX)', { username: 'alice', _like_username: 'nothing' }, true],
  // times: seconds in the query, times 1000 against the ms times
  ['_gte_created_at below', { _gte_created_at: 1000 }, true],
  ['_gte_created_at above', { _gte_created_at: 1001 }, false],
  ['_lte_created_at above', { _lte_created_at: 1001 }, true],
  ['_lte_created_at in the same second but before', { _lte_created_at: 1000 }, false],
  ['_gte_created_at exact ms', { _gte_created_at: 1000 }, true, record({}, { createdAtMs: 1_000_000 })],
  ['_lte_created_at exact ms', { _lte_created_at: 1000 }, true, record({}, { createdAtMs: 1_000_000 })],
  ['created_at range', { _gte_created_at: 1000, _lte_created_at: 1001 }, true],
  ['created_at empty range', { _gte_created_at: 1001, _lte_created_at: 1000 }, false],
  ['created_at bounds do not read connected_at', { _gte_created_at: 2000 }, false],
  ['_gte_connected_at', { _gte_connected_at: 2000 }, true],
  ['_gte_connected_at above', { _gte_connected_at: 2001 }, false],
  ['_lte_connected_at', { _lte_connected_at: 2001 }, true],
  ['_lte_connected_at below', { _lte_connected_at: 2000 }, false],
  ['connected_at bounds do not read created_at', { _lte_connected_at: 1500 }, false],
  ['_gte_mqueue_len equal', { _gte_mqueue_len: 5 }, true],
  ['_gte_mqueue_len above', { _gte_mqueue_len: 6 }, false],
  ['_lte_mqueue_len equal', { _lte_mqueue_len: 5 }, true],
  ['_lte_mqueue_len below', { _lte_mqueue_len: 4 }, false],
  ['_gte_mqueue_dropped equal', { _gte_mqueue_dropped: 7 }, true],
  ['_gte_mqueue_dropped above', { _gte_mqueue_dropped: 8 }, false],
  ['_lte_mqueue_dropped equal', { _lte_mqueue_dropped: 7 }, true],
  ['_lte_mqueue_dropped below', { _lte_mqueue_dropped: 6 }, false],
  ['mqueue bounds read mqueue_len, not mqueue_dropped', { _gte_mqueue_len: 6, _lte_mqueue_dropped: 100 }, false],
  ['every condition holding', { clientid: 'sensor-42', username: 'alice', zone: 'external', ip_address: '127.0.0.1', conn_state: 'connected', clean_start: true, proto_name: 'MQTT', proto_ver: 4, _gte_created_at: 1000, _lte_connected_at: 2001, _gte_mqueue_len: 1, _lte_mqueue_dropped: 7 }, true],
  ['every condition but one holding', { clientid: 'sensor-42', username: 'alice', zone: 'external', ip_address: '127.0.0.1', conn_state: 'connected', clean_start: true, proto_name: 'MQTT', proto_ver: 5, _gte_created_at: 1000 }, false],
];

describe('matchClient', () => {
  for (const [name, q, expected, rec] of cases) {
    it(`${name}: ${JSON.stringify(q)} → ${expected}`, () => {
      assert.equal(matchClient(rec ?? record(), q), expected);
    });
  }
});

describe('isFiltered', () => {
  it('is false for no conditions, or conditions left undefined', () => {
    assert.equal(isFiltered({}), false);
    assert.equal(isFiltered({ clientid: undefined, _gte_created_at: undefined }), false);
  });
  it('is true for each field set, falsy values included', () => {
    const one: ClientQuery[] = [
      { clientid: '' },
      { username: 'u' },
      { zone: 'z' },
      { ip_address: '1.2.3.4' },
      { conn_state: 'idle' },
      { clean_start: false },
      { proto_name: 'MQTT' },
      { proto_ver: 0 },
      { _like_clientid: '' },
      { _like_username: 'u' },
      { _gte_created_at: 0 },
      { _lte_created_at: 0 },
      { _gte_connected_at: 0 },
      { _lte_connected_at: 0 },
      { _gte_mqueue_len: 0 },
      { _lte_mqueue_len: 0 },
      { _gte_mqueue_dropped: 0 },
      { _lte_mqueue_dropped: 0 },
    ];
    for (const q of one) assert.equal(isFiltered(q), true, JSON.stringify(q));
  });
  it('ignores keys that are not query fields', () => {
    assert.equal(isFiltered({ _page: 2 } as ClientQuery), false);
  });
});
