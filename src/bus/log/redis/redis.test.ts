import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../../../test/support/redis-server.js';
import { shardSubscribers, startRedisCluster, wipeKeys, type RedisCluster } from '../../../../test/support/redis-cluster.js';
import { describeEventLogContract } from '../../../../test/support/log-contract.js';
import { makeCallEvent } from '../../../../test/support/make-call-event.js';
import { openRedisEventLog } from './index.js';

let server: RedisServer;
let serverAdmin: Redis;
let cluster: RedisCluster;

let run = 0;
beforeAll(async () => {
  [server, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
  serverAdmin = new Redis(server.url);
});
afterAll(async () => {
  serverAdmin?.disconnect();
  await Promise.all([server?.stop(), cluster?.stop()]);
});

/** The same suites on one Redis and on a 3-master Redis Cluster; `admins` are plain connections to every data node. */
const targets = {
  redis: () => ({ url: server.url, admins: [serverAdmin] }),
  'redis cluster': () => ({ url: cluster.url, admins: cluster.masters }),
};

for (const [name, target] of Object.entries(targets)) {
  describeEventLogContract(name, { persistent: true }, async () => {
    const keyPrefix = `rb_test_${++run}`;
    const wipe = () => wipeKeys(target().admins, `${keyPrefix}:*`);
    return {
      open: () => openRedisEventLog({ url: target().url, keyPrefix }),
      wipe,
      dispose: wipe,
    };
  });

  describe(`${name}: several nodes`, () => {
    it('lets every node hear every node’s appends, each in offset order', async () => {
      const keyPrefix = `rb_nodes_${++run}`;
      const [a, b] = await Promise.all([openRedisEventLog({ url: target().url, keyPrefix }), openRedisEventLog({ url: target().url, keyPrefix })]);
      try {
        const heardByA: number[] = [];
        const heardByB: number[] = [];
        a.subscribe((_t, logged) => heardByA.push(logged.offset));
        b.subscribe((_t, logged) => heardByB.push(logged.offset));
        await Promise.all([a.watch!('t_a'), b.watch!('t_a')]);
        await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).append('t_a', makeCallEvent({ tenantId: 't_a' }), `k${i}`)));
        const all = Array.from({ length: 200 }, (_, i) => i + 1);
        await expect.poll(() => Math.min(heardByA.length, heardByB.length)).toBeGreaterThanOrEqual(200);
        expect(heardByA).toEqual(all);
        expect(heardByB).toEqual(all);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('subscribes a node only to the tenants it watches: on the first watch, until the last unwatch', async () => {
      const keyPrefix = `rb_watch_${++run}`;
      const { url, admins } = target();
      const channel = (tenant: string) => `${keyPrefix}:{${tenant}}:events`;
      const subscribers = (tenant: string) => shardSubscribers(admins, channel(tenant));
      const [a, b] = await Promise.all([openRedisEventLog({ url, keyPrefix }), openRedisEventLog({ url, keyPrefix })]);
      try {
        const heardByA: string[] = [];
        const heardByB: string[] = [];
        a.subscribe((tenantId, logged) => heardByA.push(`${tenantId}:${logged.offset}`));
        b.subscribe((tenantId, logged) => heardByB.push(`${tenantId}:${logged.offset}`));
        // A serves t_a's agents, B two agents of t_b; nobody serves t_c.
        await Promise.all([a.watch!('t_a'), b.watch!('t_b'), b.watch!('t_b')]);
        expect([await subscribers('t_a'), await subscribers('t_b'), await subscribers('t_c')]).toEqual([1, 1, 0]);
        for (const tenant of ['t_c', 't_b', 't_a']) await a.append(tenant, makeCallEvent({ tenantId: tenant }), 'k1');
        await expect.poll(() => heardByA).toEqual(['t_a:1']);
        await expect.poll(() => heardByB).toEqual(['t_b:1']);

        b.unwatch!('t_b'); // one of its agents left: still subscribed
        expect(await subscribers('t_b')).toBe(1);
        b.unwatch!('t_b'); // the last one
        await expect.poll(() => subscribers('t_b')).toBe(0);
        await b.watch!('t_a');
        await a.append('t_b', makeCallEvent({ tenantId: 't_b' }), 'k2');
        await a.append('t_a', makeCallEvent({ tenantId: 't_a' }), 'k2');
        await expect.poll(() => heardByB).toEqual(['t_b:1', 't_a:2']);
        expect(heardByA).toEqual(['t_a:1', 't_a:2']);
      } finally {
        await Promise.all([a.close(), b.close()]);
        await wipeKeys(admins, `${keyPrefix}:*`);
      }
    });
  });
}

interface Reconnecting {
  /** Offsets the listening node has delivered, in order. */
  heard: number[];
  /** Appends the next event of tenant t_a from the other node. */
  append(): Promise<unknown>;
  /** Drops every pub/sub connection on every data node; ioredis reconnects them. */
  killSubscribers(): Promise<unknown>;
  subscribers(count: number): Promise<void>;
  listener: Awaited<ReturnType<typeof openRedisEventLog>>;
}

/** A writing node and a listening node (watching t_a) on a fresh key prefix; `appendedFirst` events exist before the listener opens. */
async function withReconnectingListener(
  { url, admins }: { url: string; admins: Redis[] },
  appendedFirst: number,
  body: (nodes: Reconnecting) => Promise<void>,
): Promise<void> {
  const keyPrefix = `rb_reconnect_${++run}`;
  const writer = await openRedisEventLog({ url, keyPrefix });
  let appended = 0;
  const append = () => writer.append('t_a', makeCallEvent({ tenantId: 't_a' }), `k${appended++}`);
  for (let i = 0; i < appendedFirst; i++) await append();
  const listener = await openRedisEventLog({ url, keyPrefix });
  const heard: number[] = [];
  listener.subscribe((_t, logged) => heard.push(logged.offset));
  await listener.watch!('t_a');
  try {
    await body({
      heard,
      append,
      listener,
      killSubscribers: () => Promise.all(admins.map((admin) => admin.client('KILL', 'TYPE', 'pubsub'))),
      subscribers: (count) => expect.poll(() => shardSubscribers(admins, `${keyPrefix}:{t_a}:events`)).toBeGreaterThanOrEqual(count),
    });
  } finally {
    await Promise.all([listener.close(), writer.close()]);
    await wipeKeys(admins, `${keyPrefix}:*`);
  }
}

for (const [name, target] of Object.entries(targets)) {
  describe(`${name}: a subscriber that reconnects`, () => {
    it('catches up on events appended while the subscriber was down, with no later append', () =>
      withReconnectingListener(target(), 0, async ({ heard, append, killSubscribers }) => {
        await append();
        await expect.poll(() => heard).toHaveLength(1);
        await killSubscribers();
        for (let i = 1; i <= 3; i++) await append();
        await expect.poll(() => heard.length).toBeGreaterThanOrEqual(4);
        expect(heard).toEqual([1, 2, 3, 4]);
      }));

    it('catches up a tenant whose agents synced but whose first live event was lost to a reconnect', () =>
      withReconnectingListener(target(), 1, async ({ heard, append, killSubscribers, listener }) => {
        // An agent connecting reads the head (offset 1) and goes live; this node has heard nothing yet.
        expect((await listener.position('t_a')).offset).toBe(1);
        await killSubscribers();
        await append();
        await expect.poll(() => heard.length).toBeGreaterThanOrEqual(1);
        expect(heard).toEqual([2]);
      }));

    it('fills events missed while the subscriber connection was down, in order', () =>
      withReconnectingListener(target(), 0, async ({ heard, append, killSubscribers, subscribers }) => {
        await append();
        await expect.poll(() => heard).toHaveLength(1);
        // Drop every subscriber connection, append while they are gone, then once more after they are back.
        await killSubscribers();
        for (let i = 1; i <= 5; i++) await append();
        await subscribers(1);
        await append();
        await expect.poll(() => heard.length).toBeGreaterThanOrEqual(7);
        expect(heard).toEqual([1, 2, 3, 4, 5, 6, 7]);
      }));
  });
}

it('indexes once, on open, the agents of a stream written before the agent index existed, and trims the index with the events', async () => {
  const keyPrefix = `rb_backfill_${++run}`;
  const admin = new Redis(server.url);
  let log = await openRedisEventLog({ url: server.url, keyPrefix });
  try {
    const old = new Date(Date.now() - 9 * 86_400_000).toISOString();
    await log.append('t_a', makeCallEvent({ tenantId: 't_a', agents: ['101', '101'], receivedAt: old }), 'k1');
    await log.append('t_a', makeCallEvent({ tenantId: 't_a', agents: ['102'] }), 'k2');
    await log.append('t_a', makeCallEvent({ tenantId: 't_a', agents: ['101'] }), 'k3');
    await log.close();
    // What a stream from before the agent index looks like: no index, no ax mark on its meta.
    await admin.del(`${keyPrefix}:{t_a}:byagent`);
    await admin.hdel(`${keyPrefix}:{t_a}:meta`, 'ax');

    log = await openRedisEventLog({ url: server.url, keyPrefix });
    const me = { pbxId: 'pbx_test', extension: '101' };
    expect((await log.readForAgent('t_a', { ...me, since: 0, limit: 10 })).events.map((e) => e.offset)).toEqual([1, 3]);
    expect(await admin.zcard(`${keyPrefix}:{t_a}:byagent`)).toBe(3);
    expect(await log.trim(new Date(Date.now() - 7 * 86_400_000))).toBe(1);
    expect(await admin.zcard(`${keyPrefix}:{t_a}:byagent`)).toBe(2);
    expect((await log.readForAgent('t_a', { ...me, since: 0, limit: 10 })).events.map((e) => e.offset)).toEqual([3]);
  } finally {
    await log.close();
    const keys = await admin.keys(`${keyPrefix}:*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  }
});
