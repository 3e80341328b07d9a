// The bus's other Redis users (Call Control lease, webhook delivery ids, rate limits) on a 3-master
// Redis Cluster reached through a redis+cluster:// URL; the event log's own suites are in log/redis.
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from '../../test/support/redis-cluster.js';
import { redisRateLimits } from './http/rate-limit.js';
import { openRedisDeliveryStore } from './ingest/deliveries/redis.js';
import { acquireLease } from './lease.js';
import { isRedisUrl, parseClusterUrl } from './redis-client.js';

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

const logger = pino({ level: 'silent' });

it('hands the Call Control lease to one node at a time on a Redis Cluster', async () => {
  const changes: string[] = [];
  const lease = (name: string) => acquireLease({ url: cluster.url, key: 'rb:call-control:lease', ttlMs: 5_000, onChange: (held) => changes.push(`${name}:${held}`), logger });
  const a = await lease('a');
  const b = await lease('b');
  try {
    expect([a.held(), b.held()]).toEqual([true, false]);
    await a.release();
    await expect.poll(() => b.held()).toBe(true);
    expect(changes).toEqual(['a:true', 'b:true']);
  } finally {
    await Promise.all([a.release(), b.release()]);
  }
});

it('remembers webhook delivery ids on a Redis Cluster, whichever slot each lands in', async () => {
  const store = await openRedisDeliveryStore({ url: cluster.url, keyPrefix: 'rb_deliveries' });
  try {
    const ids = Array.from({ length: 50 }, (_, i) => `pbx_1:msg_${i}`);
    for (const id of ids) await store.remember(id, { digest: `d-${id}`, eventId: `ev-${id}` });
    for (const id of ids) expect(await store.find(id)).toEqual({ digest: `d-${id}`, eventId: `ev-${id}` });
    expect(await store.find('pbx_1:never')).toBeNull();
  } finally {
    await store.close();
  }
});

it('counts rate limits on a Redis Cluster, refusing past the limit', async () => {
  const limits = await redisRateLimits({ url: cluster.url, keyPrefix: 'rb_limits' });
  try {
    const limiter = limits.limiter('dial', { max: 3, windowMs: 60_000 });
    const taken = [];
    for (let i = 0; i < 4; i++) taken.push((await limiter.take('ag_alice')).allowed);
    expect(taken).toEqual([true, true, true, false]);
    expect((await limiter.peek('ag_bob')).allowed).toBe(true);
  } finally {
    await limits.close();
  }
});

it('reads cluster URLs and refuses malformed ones with a clear reason', () => {
  expect(parseClusterUrl('redis+cluster://u%40x:p%3Aw@10.0.0.1:7000,[::1]:7001')).toEqual({
    nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '::1', port: 7001 }],
    username: 'u@x',
    password: 'p:w',
    tls: false,
  });
  expect(parseClusterUrl('rediss+cluster://10.0.0.1:7000')).toMatchObject({ tls: true, username: undefined, password: undefined });
  expect(parseClusterUrl('redis://10.0.0.1:6379')).toBeNull();
  expect(() => parseClusterUrl('redis+cluster://10.0.0.1')).toThrow('cluster node "10.0.0.1" is not host:port');
  expect(() => parseClusterUrl('redis+cluster://10.0.0.1:7000,:7001')).toThrow('cluster node ":7001" is not host:port');
  expect(() => parseClusterUrl('redis+cluster://')).toThrow('a cluster URL looks like redis+cluster://host:port,host:port');
  expect([isRedisUrl('redis://h:6379'), isRedisUrl('rediss://h'), isRedisUrl('redis+cluster://h:1'), isRedisUrl('http://h'), isRedisUrl('redis+cluster://h')]).toEqual([true, true, true, false, false]);
});
