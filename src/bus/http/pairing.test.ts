import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PAIR_PATH, PairResponseSchema } from '../../shared/pairing.js';
import { createSqliteTenantStore, type SqliteTenantStore } from '../tenants/sqlite/store.js';
import { pairingRoutes } from './pairing.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

let app: FastifyInstance;
let tenants: SqliteTenantStore;
let code: string;
let clock = 0;

beforeEach(async () => {
  tenants = createSqliteTenantStore({ path: ':memory:', masterKey: randomBytes(32) });
  const tenant = await tenants.createTenant({ name: 'Acme' });
  const { pbx } = await tenants.addPbx({ tenantId: tenant.id, name: 'Main', baseUrl: 'https://pbx.test', defaultCountry: 'AU', apiClientId: null, connectorMode: 'bus' });
  code = (await tenants.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann', crmUser: 'ann@acme.test' })).pairingCode;
  clock = 1_000_000;
  app = Fastify({ logger: false });
  await app.register(pairingRoutes, { tenants, publicUrl: 'https://bus.example.com/', maxFailures: 3, windowMs: 60_000, now: () => clock });
});
afterEach(async () => {
  await app.close();
  await tenants.close();
});

const pair = (payload: unknown, remoteAddress = '10.0.0.1') => app.inject({ method: 'POST', url: PAIR_PATH, payload: payload as object, remoteAddress });

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
    clock += 60_001;
    expect((await pair({ code: 'STILL-WRONG-X' })).statusCode).toBe(404);
  });
});
