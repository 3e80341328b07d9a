// Two bus nodes sharing a Redis log: an agent connected to one node gets events ingested by the
// other, and resumes on either.
import Fastify from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../../test/support/redis-server.js';
import { AGENT_WS_PATH } from '../../shared/agent-protocol.js';
import type { EventLog } from '../log/port.js';
import { openRedisEventLog } from '../log/redis/index.js';
import { makeCallEvent } from '../../../test/support/make-call-event.js';
import type { Agent } from '../tenants/port.js';
import { agentGateway } from './plugin.js';
import { TestAgent } from '../../../test/support/test-agent.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const alice: Agent = { id: 'ag_alice', tenantId: 't_one', extension: '101', pbxId: 'pbx_1', name: 'Alice', crmUser: null, revokedAt: null };

async function startNode(keyPrefix: string) {
  const log = await openRedisEventLog({ url: redis.url, keyPrefix });
  const app = Fastify();
  await app.register(agentGateway, {
    log,
    tenants: { authenticateDevice: async (t) => (t === 'device-token-of-alice' ? alice : null), revokedSince: async () => [] },
    dial: { dial: async () => ({ ok: false, e164: null, code: 'pbx_error', message: 'unused' }) },
    recordings: { grant: async () => ({ ok: false, code: 'not_found', message: 'unused' }) },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return { log, app, url: `ws://127.0.0.1:${port}${AGENT_WS_PATH}` };
}

async function connect(url: string, resume?: { offset: number; epoch: string }): Promise<TestAgent> {
  const client = new TestAgent(url);
  await client.opened;
  client.hello('device-token-of-alice', resume);
  return client;
}

const append = (log: EventLog, key: string) =>
  log.append('t_one', makeCallEvent({ tenantId: 't_one', pbxId: 'pbx_1', agents: ['101'] }), key);

it('delivers an event ingested on one node to an agent on another, and resumes across nodes', async () => {
  const [a, b] = await Promise.all([startNode('rb_scale'), startNode('rb_scale')]);
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
