// NATS_URL's comma list and REDIS_URL's Sentinel form, as the connections read them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { natsServers } from '../../shared/cluster/nats/connection.js';
import { redactTarget, redisTarget } from '../../shared/cluster/redis/url.js';

test('NATS_URL: one server or a comma list, blanks ignored', () => {
  assert.deepEqual(natsServers('nats://127.0.0.1:4222'), ['nats://127.0.0.1:4222']);
  assert.deepEqual(natsServers('nats://a:4222, nats://b:4222 ,nats://c:4222,'), ['nats://a:4222', 'nats://b:4222', 'nats://c:4222']);
});

test('REDIS_URL: a plain URL is left to ioredis', () => {
  assert.deepEqual(redisTarget('redis://127.0.0.1:6379/2'), { url: 'redis://127.0.0.1:6379/2' });
});

test('REDIS_URL: the Sentinel form gives the sentinels, the master name, the password and the db', () => {
  assert.deepEqual(redisTarget('redis-sentinel://10.0.0.1:26379,10.0.0.2:26380,s3/mymaster'), {
    sentinel: {
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: 's3', port: 26379 },
      ],
      name: 'mymaster',
    },
  });
  assert.deepEqual(redisTarget('redis-sentinel://:s%40cret@h:1/m?db=3'), { sentinel: { sentinels: [{ host: 'h', port: 1 }], name: 'm', password: 's@cret', db: 3 } });
  assert.deepEqual(redisTarget('redis-sentinel://u:p@h:1/m'), { sentinel: { sentinels: [{ host: 'h', port: 1 }], name: 'm', username: 'u', password: 'p' } });
});

test('REDIS_URL: a malformed Sentinel form is refused, naming what is wrong and not the password', () => {
  assert.throws(() => redisTarget('redis-sentinel://h:1'), /needs \/<master name>/);
  assert.throws(() => redisTarget('redis-sentinel://h:1/'), /needs a master name/);
  assert.throws(() => redisTarget('redis-sentinel:///m'), /no sentinel address/);
  assert.throws(() => redisTarget('redis-sentinel://:pw@h:99999/m'), (err: Error) => /bad sentinel address h:99999/.test(err.message) && !err.message.includes('pw'));
  assert.throws(() => redisTarget('redis-sentinel://h:1/m?db=x'), /bad db x/);
  assert.equal(redactTarget('redis-sentinel://:pw@h:1/m'), 'redis-sentinel://:***@h:1/m');
  assert.equal(redactTarget('redis-sentinel://u:pw@h:1/m'), 'redis-sentinel://u:***@h:1/m');
  assert.equal(redactTarget('redis://:pw@h:1'), 'redis://:***@h:1');
});
