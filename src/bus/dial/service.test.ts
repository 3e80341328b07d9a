// Dial authorisation against the simulated PBX: own extension only, policy refusals, PBX failures.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startRedis } from '../../../test/support/redis-server.js';
import { startPbxSimulator, type PbxSimulator } from '../../sim/3cx/index.js';
import { composeServices, openStorage } from '../compose.js';
import { createSqliteAuditLog } from '../audit/sqlite.js';
import { RateLimitUnavailable, type RateLimits } from '../http/rate-limit.js';
import { createPbxGateway } from '../pbx/gateway.js';
import { agent, fakeTenants, memoryAudit } from '../../../test/support/pbx-fakes.js';
import { createDialService, type DialServiceOptions } from './service.js';

let sim: PbxSimulator | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await sim?.close();
  sim = undefined;
});

async function setup(policy: { allowedCountries?: Array<'DE' | 'AT' | 'GB'>; blockedTypes?: string[] } = {}, opts: Partial<Pick<DialServiceOptions, 'maxPerMinute' | 'maxControlsPerMinute' | 'limits' | 'audit'>> = {}) {
  sim = await startPbxSimulator();
  const tenants = fakeTenants();
  tenants.put({ tenant: { dialPolicy: { allowedCountries: policy.allowedCountries ?? [], blockedTypes: policy.blockedTypes ?? [] } }, pbx: { id: 'pbx_1', tenantId: 't_1', baseUrl: sim.baseUrl, defaultCountry: 'DE' } });
  tenants.put({ pbx: { id: 'pbx_other', tenantId: 't_2', baseUrl: sim.baseUrl } });
  const audit = memoryAudit();
  const service = createDialService({ tenants, gateway: createPbxGateway({ tenants }), audit, ...opts });
  return { service, audit, sim };
}

const alice = agent({ tenantId: 't_1', pbxId: 'pbx_1', extension: '101' });

describe('DialService', () => {
  it('dials a national number as E.164 from the agent\'s own extension and audits it', async () => {
    const { service, audit, sim } = await setup();
    const outcome = await service.dial(alice, '030 1234567');
    expect(outcome).toEqual({ ok: true, e164: '+49301234567', pbxCallId: expect.stringMatching(/^\d+$/) });
    expect(sim.makeCallRequests).toEqual([{ dn: '101', deviceId: expect.stringContaining('sip:101@'), destination: '+49301234567' }]);
    expect(audit.entries).toEqual([expect.objectContaining({ tenantId: 't_1', agentId: alice.id, action: 'dial', target: '+49301234567', result: 'ok' })]);
  });

  it('never dials from an extension other than the agent\'s, whatever the input says', async () => {
    const { service, sim } = await setup();
    await service.dial(agent({ tenantId: 't_1', pbxId: 'pbx_1', extension: '102' }), '+49 30 1234567');
    expect(await service.dial(alice, '102')).toMatchObject({ ok: false, code: 'invalid_number' });
    expect(sim.makeCallRequests.map((r) => r.dn)).toEqual(['102']);
  });

  it('refuses junk, and agents whose PBX belongs to another tenant', async () => {
    const { service, audit, sim } = await setup();
    expect(await service.dial(alice, 'javascript:alert(1)')).toMatchObject({ ok: false, code: 'invalid_number', e164: null });
    expect(await service.dial(agent({ tenantId: 't_1', pbxId: 'pbx_other', extension: '101' }), '+49301234567')).toMatchObject({ ok: false, code: 'pbx_error' });
    expect(sim.makeCallRequests).toEqual([]);
    expect(audit.entries.map((e) => [e.target, e.result])).toEqual([['javascript:alert(1)', 'denied'], ['+49301234567', 'error']]);
  });

  it('applies the tenant\'s allowed countries and blocked number types', async () => {
    const { service, audit, sim } = await setup({ allowedCountries: ['DE', 'AT'], blockedTypes: ['PREMIUM_RATE'] });
    expect(await service.dial(alice, '+44 20 7946 0958')).toMatchObject({ ok: false, code: 'dial_policy', e164: '+442079460958' });
    expect(await service.dial(alice, '0900 1234567')).toMatchObject({ ok: false, code: 'dial_policy', message: expect.stringContaining('premium rate') });
    expect(await service.dial(alice, '+43 1 5321234')).toMatchObject({ ok: true });
    expect(sim.makeCallRequests.map((r) => r.destination)).toEqual(['+4315321234']);
    expect(audit.entries.map((e) => e.result)).toEqual(['denied', 'denied', 'ok']);
  });

  it('surfaces the PBX\'s refusal and an unreachable PBX as pbx_error', async () => {
    const { service, audit, sim } = await setup();
    sim.faults.refuseMakeCall('Outbound rule denies this destination');
    expect(await service.dial(alice, '+49301234567')).toEqual({ ok: false, e164: '+49301234567', code: 'pbx_error', message: 'Outbound rule denies this destination' });
    sim.faults.failNextRest(5, 503);
    expect(await service.dial(alice, '+49301234567')).toMatchObject({ ok: false, code: 'pbx_error', message: expect.not.stringContaining('503') });
    expect(audit.entries.map((e) => e.result)).toEqual(['error', 'error']);
    expect(audit.entries[1]!.detail).toContain('503');
  });

  it('limits how fast one agent can dial', async () => {
    const { service } = await setup({}, { maxPerMinute: 2 });
    expect((await service.dial(alice, '+49301234567')).ok).toBe(true);
    expect((await service.dial(alice, '+49301234567')).ok).toBe(true);
    expect(await service.dial(alice, '+49301234567')).toMatchObject({ ok: false, code: 'rate_limited' });
    expect((await service.dial(agent({ tenantId: 't_1', pbxId: 'pbx_1', extension: '102' }), '+49301234567')).ok).toBe(true);
  });

  it('lets an agent dial again after a minute', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { service } = await setup({}, { maxPerMinute: 1 });
    expect((await service.dial(alice, '+49301234567')).ok).toBe(true);
    expect(await service.dial(alice, '+49301234567')).toMatchObject({ ok: false, code: 'rate_limited' });
    vi.advanceTimersByTime(60_000);
    expect((await service.dial(alice, '+49301234567')).ok).toBe(true);
  });

  it('consults the limit before anything else: a flood of junk numbers leaves two aggregated audit rows', async () => {
    const audit = createSqliteAuditLog({ path: ':memory:' });
    const { service, sim } = await setup({ allowedCountries: ['DE'] }, { maxPerMinute: 5, audit });
    const outcomes = [];
    for (let i = 0; i < 500; i++) outcomes.push(await service.dial(alice, i % 2 ? 'javascript:alert(1)' : '+44 20 7946 0958'));
    expect(outcomes.filter((o) => !o.ok && o.code === 'rate_limited')).toHaveLength(495);
    expect(sim.makeCallRequests).toEqual([]);
    const rows = await audit.list('t_1');
    expect(rows.map((r) => [r.detail?.split(':')[0], r.count]).sort()).toEqual([['dial_policy', 3], ['invalid_number', 2], ['rate_limited', 495]]);
  });

  it('refuses, never dials, when the limit store cannot answer', async () => {
    const failing: RateLimits = {
      limiter: () => ({ take: () => Promise.reject(new RateLimitUnavailable('redis down')), peek: () => Promise.reject(new RateLimitUnavailable('redis down')) }),
      ping: () => Promise.reject(new RateLimitUnavailable('redis down')),
      close: async () => undefined,
    };
    const { service, audit, sim } = await setup({}, { limits: failing });
    expect(await service.dial(alice, '+49301234567')).toMatchObject({ ok: false, code: 'rate_limited', message: expect.stringContaining('unavailable') });
    expect(sim.makeCallRequests).toEqual([]);
    expect(audit.entries).toEqual([expect.objectContaining({ result: 'denied', detail: expect.stringContaining('rate limit store unavailable') })]);
  });
});

describe('transfer destinations', () => {
  it('transfers to short digits as dialled only when the PBX has that extension or queue; 112, 999 or an unknown short code is refused and never reaches the PBX', async () => {
    const { service, audit, sim } = await setup();
    const transfer = (destination: string) => service.control(alice, { pbxCallId: '4242', action: 'transfer', destination });
    // Past the policy, the PBX is asked and finds no such call on 101: not_found, with the destination kept as dialled.
    expect(await transfer('102')).toMatchObject({ ok: false, code: 'not_found' });
    expect(await transfer('800')).toMatchObject({ ok: false, code: 'not_found' });
    for (const short of ['112', '999', '11833', '555']) {
      expect(await transfer(short)).toEqual({ ok: false, code: 'invalid_number', e164: null, message: `${short} is not an extension or queue of your 3CX, nor a phone number.` });
    }
    expect(sim.controlRequests).toEqual([]);
    expect(audit.entries.map((e) => [e.target, e.detail?.split(':')[0]])).toEqual([
      ['transfer 4242 -> 102', 'not_found'],
      ['transfer 4242 -> 800', 'not_found'],
      ['transfer 4242 -> 112', 'invalid_number'],
      ['transfer 4242 -> 999', 'invalid_number'],
      ['transfer 4242 -> 11833', 'invalid_number'],
      ['transfer 4242 -> 555', 'invalid_number'],
    ]);
  });
});

describe('dial limit on several bus nodes', () => {
  it('two nodes configured with one Redis share each agent\'s budget instead of doubling it', async () => {
    const redis = await startRedis();
    const dataDir = mkdtempSync(join(tmpdir(), 'rb-dial-'));
    const nodes = await Promise.all([0, 1].map(() => openStorage({ dataDir, redisUrl: redis.url, masterKey: null }, pino({ level: 'silent' }))));
    try {
      const [a, b] = nodes.map((storage) => composeServices(storage, { publicUrl: 'http://bus.test' }).dial);
      // This agent's PBX is not configured, so nothing is dialled; every request still counts.
      const codes = [];
      for (let i = 0; i < 12; i++) codes.push(((await (i % 2 ? b! : a!).dial(alice, '+49301234567')) as { code: string }).code);
      expect(codes).toEqual([...Array(10).fill('pbx_error'), 'rate_limited', 'rate_limited']);
    } finally {
      for (const storage of nodes) await storage.close();
      await redis.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("call control shares dial's path: its own per-agent limit, audited, and a refused request never reaches the PBX", async () => {
    const { service, audit, sim } = await setup({}, { maxControlsPerMinute: 2 });
    const hangUp = () => service.control(alice, { pbxCallId: '4242', action: 'hangup' });
    expect(await hangUp()).toMatchObject({ ok: false, code: 'not_found' });
    expect(await hangUp()).toMatchObject({ ok: false, code: 'not_found' });
    expect(await hangUp()).toMatchObject({ ok: false, code: 'rate_limited', message: 'At most 2 call actions a minute; try again shortly.' });
    expect(sim.controlRequests).toEqual([]);
    // Dialling keeps its own budget.
    expect(await service.dial(alice, '+49301234567')).toMatchObject({ ok: true });
    expect(audit.entries.filter((e) => e.action === 'call_control').map((e) => [e.target, e.result, e.detail?.split(':')[0]])).toEqual([
      ['hangup 4242', 'denied', 'not_found'],
      ['hangup 4242', 'denied', 'not_found'],
      ['hangup 4242', 'denied', 'rate_limited'],
    ]);
  });
});
