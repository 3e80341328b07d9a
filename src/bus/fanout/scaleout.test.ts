// Two bus nodes sharing a Redis log (one server, and a 3-master Redis Cluster): an agent connected
// to one node gets events ingested by the other, resumes on either, and a node listens only to the
// tenants whose agents it serves.
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../../test/support/redis-server.js';
import { shardSubscribers, startRedisCluster, type RedisCluster } from '../../../test/support/redis-cluster.js';
import { AGENT_WS_PATH } from '../../shared/agent-protocol.js';
import type { EventLog } from '../log/port.js';
import { openRedisEventLog } from '../log/redis/index.js';
import { makeCallEvent } from '../../../test/support/make-call-event.js';
import type { Agent } from '../tenants/port.js';
import { agentGateway } from './plugin.js';
import { TestAgent } from '../../../test/support/test-agent.js';

let redis: RedisServer;
let redisAdmin: Redis;
let cluster: RedisCluster;
beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
  redisAdmin = new Redis(redis.url);
});
afterAll(async () => {
  redisAdmin?.disconnect();
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

const alice: Agent = { id: 'ag_alice', tenantId: 't_one', extension: '101', pbxId: 'pbx_1', name: 'Alice', crmUser: null, revokedAt: null };
const bob: Agent = { ...alice, id: 'ag_bob', tenantId: 't_two', name: 'Bob' };
const devices = new Map([['device-token-of-alice', alice], ['device-token-of-bob', bob]]);

async function startNode(url: string, keyPrefix: string) {
  const log = await openRedisEventLog({ url, keyPrefix });
  const app = Fastify();
  await app.register(agentGateway, {
    log,
    tenants: { authenticateDevice: async (t) => devices.get(t) ?? null, revokedSince: async () => [] },
    dial: { dial: async () => ({ ok: false, e164: null, code: 'pbx_error', message: 'unused' }), control: async () => ({ ok: true, destination: null }), presence: async () => ({ ok: false, e164: null, code: 'pbx_error', message: 'unused' }) },
    recordings: { grant: async () => ({ ok: false, code: 'not_found', message: 'unused' }) },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return { log, app, url: `ws://127.0.0.1:${port}${AGENT_WS_PATH}` };
}

async function connect(url: string, resume?: { offset: number; epoch: string }, device = 'device-token-of-alice'): Promise<TestAgent> {
  const client = new TestAgent(url);
  await client.opened;
  client.hello(device, resume);
  return client;
}

const append = (log: EventLog, key: string, tenantId = 't_one') =>
  log.append(tenantId, makeCallEvent({ tenantId, pbxId: 'pbx_1', agents: ['101'] }), key);

const targets = {
  redis: () => ({ url: redis.url, admins: [redisAdmin] }),
  'redis cluster': () => ({ url: cluster.url, admins: cluster.masters }),
};
let run = 0;

for (const [name, target] of Object.entries(targets)) {
  describe(name, () => {
    it('delivers an event ingested on one node to an agent on another, and resumes across nodes', async () => {
      const keyPrefix = `rb_scale_${++run}`;
      const [a, b] = await Promise.all([startNode(target().url, keyPrefix), startNode(target().url, keyPrefix)]);
      try {
        const onB = await connect(b.url);
        await onB.nextOf('welcome');
        const first = await append(a.log, 'k1');
        expect(await onB.nextOf('event')).toMatchObject({ offset: first.offset, epoch: first.epoch, replay: false });
        onB.close();
        await onB.closed;

        const missed = await append(b.log, 'k2');
        const onA = await connect(a.url, { offset: first.offset, epoch: first.epoch });
        expect(await onA.nextOf('welcome')).toMatchObject({ recovered: true });
        expect(await onA.nextOf('event')).toMatchObject({ offset: missed.offset, replay: true });
        const live = await append(b.log, 'k3');
        expect(await onA.nextOf('event')).toMatchObject({ offset: live.offset, replay: false });
        onA.close();
        await onA.closed;
      } finally {
        for (const node of [a, b]) {
          await node.app.close();
          await node.log.close();
        }
      }
    });

    it('subscribes a node to a tenant’s events from its first connected agent until its last one leaves', async () => {
      const keyPrefix = `rb_serve_${++run}`;
      const subscribers = (tenantId: string) => shardSubscribers(target().admins, `${keyPrefix}:{${tenantId}}:events`);
      const [a, b] = await Promise.all([startNode(target().url, keyPrefix), startNode(target().url, keyPrefix)]);
      try {
        // Alice (t_one) on A, twice (two devices' worth of sessions of one agent); Bob (t_two) on B.
        const alices = [await connect(a.url), await connect(a.url)];
        const onB = await connect(b.url, undefined, 'device-token-of-bob');
        for (const agent of [...alices, onB]) await agent.nextOf('welcome');
        expect([await subscribers('t_one'), await subscribers('t_two')]).toEqual([1, 1]);

        // Ingested on B for t_one: only A hears it, and its agent gets it.
        const forAlice = await append(b.log, 'k1', 't_one');
        for (const agent of alices) expect(await agent.nextOf('event')).toMatchObject({ offset: forAlice.offset, replay: false });

        alices[0]!.close();
        await alices[0]!.closed;
        expect(await subscribers('t_one')).toBe(1);
        alices[1]!.close();
        await alices[1]!.closed;
        await expect.poll(() => subscribers('t_one')).toBe(0);
        expect(await subscribers('t_two')).toBe(1);
        onB.close();
        await onB.closed;
        await expect.poll(() => subscribers('t_two')).toBe(0);
      } finally {
        for (const node of [a, b]) {
          await node.app.close();
          await node.log.close();
        }
      }
    });
  });
}
