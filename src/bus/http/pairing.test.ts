import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startRedis, type RedisServer } from '../../../test/support/redis-server.js';
import { PAIR_PATH, PairResponseSchema } from '../../shared/pairing.js';
import { createSqliteTenantStore, type SqliteTenantStore } from '../tenants/sqlite/store.js';
import { PAIR_FAILURES_LIMIT, pairingRoutes } from './pairing.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import { memoryRateLimits, redisRateLimits, type RateLimits } from './rate-limit.js';

let app: FastifyInstance;
let tenants: SqliteTenantStore;
let code: string;

beforeEach(async () => {
  tenants = createSqliteTenantStore({ path: ':memory:', masterKey: randomBytes(32) });
  const tenant = await tenants.createTenant({ name: 'Acme' });
  const { pbx } = await tenants.addPbx({ tenantId: tenant.id, name: 'Main', baseUrl: 'https://pbx.test', defaultCountry: 'AU', apiClientId: null, connectorMode: 'bus' });
  code = (await tenants.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann', crmUser: 'ann@acme.test' })).pairingCode;
  // The limit stores read Date.now(); only the clock is faked.
  vi.useFakeTimers({ toFake: ['Date'] });
  app = await pairingApp();
});
afterEach(async () => {
  vi.useRealTimers();
  await app.close();
  await tenants.close();
});

async function pairingApp(limits?: RateLimits): Promise<FastifyInstance> {
  const instance = Fastify({ logger: false });
  await instance.register(pairingRoutes, { tenants, publicUrl: 'https://bus.example.com/', maxFailures: 3, windowMs: 60_000, limits });
  return instance;
}

const pair = (payload: unknown, remoteAddress = '10.0.0.1', on = app) => on.inject({ method: 'POST', url: PAIR_PATH, payload: payload as object, remoteAddress });
const wrongCodes = (n: number, remoteAddress?: string, on?: FastifyInstance) =>
  Promise.all(Array.from({ length: n }, (_, i) => pair({ code: `WRONG-${i}-CODE` }, remoteAddress, on).then((r) => r.statusCode)));

describe('pairing route', () => {
  it('trades the code for a device token that authenticates the agent', async () => {
    const res = await pair({ code });
    expect(res.statusCode).toBe(200);
    const body = PairResponseSchema.parse(res.json());
    expect(body).toMatchObject({ extension: '101', name: 'Ann', crmUser: 'ann@acme.test', wsUrl: 'wss://bus.example.com/v1/agent/ws' });
    expect((await tenants.authenticateDevice(body.deviceToken))?.id).toBe(body.agentId);
  });

  it('refuses a used or unknown code with a 404 problem', async () => {
    await pair({ code });
    for (const attempt of [{ code }, { code: 'AAAA-BBBB-CCCC' }]) {
      const res = await pair(attempt);
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toMatch(PROBLEM_CONTENT_TYPE);
      expect(res.json()).toMatchObject({ type: 'urn:ringbridge:problem:pairing-code-not-found', status: 404 });
    }
  });

  it('refuses malformed requests with 400', async () => {
    expect((await pair({ code: 1 })).statusCode).toBe(400);
    expect((await pair({})).statusCode).toBe(400);
  });

  it('stops an address after too many failures, even with a right code, until the window passes', async () => {
    for (let i = 0; i < 3; i++) expect((await pair({ code: `WRONG-${i}-CODE` })).statusCode).toBe(404);
    const blocked = await pair({ code });
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await pair({ code }, '10.0.0.2')).statusCode).toBe(200);
    vi.advanceTimersByTime(60_001);
    expect((await pair({ code: 'STILL-WRONG-X' })).statusCode).toBe(404);
  });

  it('still limits a new address after 100,000 others have failed (the oldest are forgotten instead)', async () => {
    const limits = memoryRateLimits();
    const node = await pairingApp(limits);
    // 100,000 addresses with a failure each, counted where the route counts (as many requests would).
    const failures = limits.limiter(PAIR_FAILURES_LIMIT, { max: 3, windowMs: 60_000 });
    for (let i = 0; i < 100_000; i++) await failures.take(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(await wrongCodes(3, '192.0.2.7', node)).toEqual([404, 404, 404]);
    const blocked = await pair({ code }, '192.0.2.7', node);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json()).toMatchObject({ type: 'urn:ringbridge:problem:too-many-attempts', status: 429 });
    await node.close();
  });

  it('counts an IPv6 client\'s whole /64 as one address', async () => {
    expect(await wrongCodes(3, '2001:db8:1:2::1')).toEqual([404, 404, 404]);
    expect((await pair({ code }, '2001:db8:1:2:ffff::9')).statusCode).toBe(429);
  });
});

describe('pairing limit shared through Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('two bus nodes on one Redis together allow only the configured failures per address', async () => {
    const [limitsA, limitsB] = await Promise.all([redisRateLimits({ url: redis.url, keyPrefix: 'rb_pair_shared' }), redisRateLimits({ url: redis.url, keyPrefix: 'rb_pair_shared' })]);
    const [a, b] = await Promise.all([pairingApp(limitsA), pairingApp(limitsB)]);
    try {
      expect([(await pair({ code: 'WRONG-A-CODE' }, '10.9.9.9', a)).statusCode, (await pair({ code: 'WRONG-B-CODE' }, '10.9.9.9', b)).statusCode]).toEqual([404, 404]);
      expect((await pair({ code: 'WRONG-C-CODE' }, '10.9.9.9', a)).statusCode).toBe(404);
      // Three failures in total, spread over both nodes: each node now refuses, even a right code.
      expect((await pair({ code }, '10.9.9.9', b)).statusCode).toBe(429);
      expect((await pair({ code }, '10.9.9.9', a)).statusCode).toBe(429);
      expect((await pair({ code }, '10.9.9.10', b)).statusCode).toBe(200);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await Promise.all([limitsA.close(), limitsB.close()]);
    }
  });

  it('refuses with a 503 problem, never unlimited, when the limit store fails', async () => {
    const own = await startRedis();
    const limits = await redisRateLimits({ url: own.url, commandTimeoutMs: 500 });
    const node = await pairingApp(limits);
    try {
      await own.stop();
      for (const attempt of [{ code }, { code: 'WRONG-X-CODE' }]) {
        const res = await pair(attempt, '10.7.7.7', node);
        expect(res.statusCode).toBe(503);
        expect(res.headers['content-type']).toMatch(PROBLEM_CONTENT_TYPE);
        expect(res.json()).toMatchObject({ type: 'urn:ringbridge:problem:rate-limit-unavailable', status: 503 });
      }
      // Nothing was done: the code is still unused.
      expect(await tenants.pair(code)).not.toBeNull();
    } finally {
      await node.close();
      await limits.close();
    }
  });
});
