// The HubSpot simulator is no easier than HubSpot: it checks the wire against HubSpot's official
// files (not the adapter's types), answers what it lacks as HubSpot does, and keeps HubSpot's limits.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HUBSPOT_RATE_LIMITS, startHubSpotSim, type HubSpotSim } from './index.js';

let sim: HubSpotSim;
let now: number;
let token: string;

beforeEach(async () => {
  now = Date.parse('2026-03-01T10:00:00.000Z');
  sim = await startHubSpotSim({ now: () => now });
  token = sim.oauth.issueTokens().accessToken;
});
afterEach(() => sim.close());

async function send(method: string, path: string, json?: unknown, bearer = token) {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

const taskSearch = (operator: string) => ({
  filterGroups: [{ filters: [{ propertyName: 'ringbridge_call_key', operator, value: 'k' }] }],
  properties: ['ringbridge_call_key'],
  sorts: [],
  limit: 1,
  after: '0',
});

describe('HubSpot simulator', () => {
  it('imports nothing from the adapter it tests', () => {
    const sources = readdirSync(import.meta.dirname).filter((f) => f.endsWith('.ts'));
    expect(sources.filter((f) => /from '(\.\.\/)+main\//.test(readFileSync(join(import.meta.dirname, f), 'utf8')))).toEqual([]);
  });

  it('checks task requests against HubSpot\'s official tasks file, not the adapter\'s schema', async () => {
    expect((await send('POST', '/crm/v3/objects/tasks/search', taskSearch('EQ'))).status).toBe(200);
    const refused = await send('POST', '/crm/v3/objects/tasks/search', taskSearch('EQUALS'));
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    // The official create body requires `associations`.
    expect((await send('POST', '/crm/v3/objects/tasks', { properties: { hs_timestamp: '2026-03-01T11:00:00.000Z' } })).status).toBe(400);
    expect(sim.specViolations).toEqual([
      expect.stringContaining('(/crm/v3/objects/tasks/search) request: body/filterGroups/0/filters/0/operator must be equal to one of the allowed values'),
      expect.stringContaining("(/crm/v3/objects/tasks) request: body must have required property 'associations'"),
    ]);
  });

  it('answers an endpoint it does not simulate with a 404 and HubSpot\'s error body, and fails the test', async () => {
    for (const [method, path] of [['GET', '/crm/v3/objects/deals/7'], ['GET', '/crm/v3/objects/calls']] as const) {
      const res = await send(method, path);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ status: 'error', message: expect.any(String), correlationId: expect.any(String), category: 'OBJECT_NOT_FOUND' });
    }
    expect(sim.specViolations).toEqual([
      'GET /crm/v3/objects/deals/7: no such endpoint (not in the spec)',
      'GET /crm/v3/objects/calls: no such endpoint (in the spec but not simulated)',
    ]);
  });

  it('finds owners by e-mail through the official owners API, and refuses an owner id that is not one', async () => {
    const jane = sim.addOwner({ email: 'jane@acme.com', firstName: 'Jane' });
    expect((await send('GET', '/crm/v3/owners?email=JANE%40acme.com')).body.results).toEqual([expect.objectContaining({ id: jane, email: 'jane@acme.com', type: 'PERSON' })]);
    expect((await send('GET', '/crm/v3/owners?email=nobody%40acme.com')).body.results).toEqual([]);
    const create = (owner: string) =>
      send('POST', '/crm/v3/objects/calls', { properties: { hs_timestamp: '2026-03-01T10:00:00.000Z', hubspot_owner_id: owner }, associations: [] });
    for (const owner of ['jane@acme.com', '424242']) {
      const refused = await create(owner);
      expect(refused.status).toBe(400);
      expect(refused.body.message).toContain('hubspot_owner_id');
    }
    expect((await create(jane)).status).toBe(201);
    sim.assertNoSpecViolations();
  });

  it('allows 100 requests per 10 seconds, then answers 429 as HubSpot does until the window moves on', async () => {
    for (let i = 1; i <= HUBSPOT_RATE_LIMITS.tenSecondly; i++) {
      const ok = await send('GET', '/crm/v3/owners');
      expect([ok.status, ok.headers.get('x-hubspot-ratelimit-remaining')]).toEqual([200, String(HUBSPOT_RATE_LIMITS.tenSecondly - i)]);
    }
    const limited = await send('GET', '/crm/v3/owners');
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ status: 'error', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING', message: 'You have reached your ten_secondly_rolling limit.' });
    expect(['interval-milliseconds', 'max', 'remaining'].map((h) => limited.headers.get(`x-hubspot-ratelimit-${h}`))).toEqual(['10000', '100', '0']);
    now += 9_999;
    expect((await send('GET', '/crm/v3/owners')).status).toBe(429);
    now += 1;
    expect((await send('GET', '/crm/v3/owners')).status).toBe(200);
    sim.assertNoSpecViolations();
  });

  it('allows 4 searches per second per token, outside the 10-second window', async () => {
    for (let i = 0; i < HUBSPOT_RATE_LIMITS.searchPerSecond; i++) expect((await send('POST', '/crm/v3/objects/tasks/search', taskSearch('EQ'))).status).toBe(200);
    const limited = await send('POST', '/crm/v3/objects/calls/search', taskSearch('EQ'));
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ errorType: 'RATE_LIMIT', policyName: 'SECONDLY' });
    // Another token has its own search budget; searches never used the 10-second one.
    const other = sim.oauth.issueTokens().accessToken;
    expect((await send('POST', '/crm/v3/objects/contacts/search', taskSearch('EQ'), other)).status).toBe(200);
    expect((await send('GET', '/crm/v3/owners')).headers.get('x-hubspot-ratelimit-remaining')).toBe('99');
    now += 1_000;
    expect((await send('POST', '/crm/v3/objects/contacts/search', taskSearch('EQ'))).status).toBe(200);
    sim.assertNoSpecViolations();
  });
});
