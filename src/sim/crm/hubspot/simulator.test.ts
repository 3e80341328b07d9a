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

  it('serves the calls batch update and read of the official calls file: an id twice refused whole, an unknown id named in a 207, the others applied', async () => {
    const create = async (title: string) =>
      String((await send('POST', '/crm/v3/objects/calls', { properties: { hs_timestamp: '2026-03-01T10:00:00.000Z', hs_call_title: title }, associations: [] })).body.id);
    const [a, b] = [await create('a'), await create('b')];
    const update = (inputs: Array<{ id: string; properties: Record<string, string> }>) => send('POST', '/crm/v3/objects/calls/batch/update', { inputs });

    const twice = await update([{ id: a, properties: { hs_call_title: 'a1' } }, { id: a, properties: { hs_call_title: 'a2' } }]);
    expect(twice.status).toBe(400);
    expect(sim.calls.get(a)!.properties.hs_call_title).toBe('a');

    const partly = await update([{ id: a, properties: { hs_call_title: 'a!' } }, { id: '424242', properties: { hs_call_title: 'x' } }, { id: b, properties: { hs_call_status: 'COMPLETED' } }]);
    expect(partly.status).toBe(207);
    expect(partly.body).toMatchObject({ status: 'COMPLETE', numErrors: 1, errors: [{ category: 'OBJECT_NOT_FOUND', context: { ids: ['424242'] } }] });
    expect((partly.body.results as Array<{ id: string }>).map((r) => r.id)).toEqual([a, b]);
    expect([sim.calls.get(a)!.properties.hs_call_title, sim.calls.get(b)!.properties.hs_call_status]).toEqual(['a!', 'COMPLETED']);

    // A value HubSpot refuses (an attachment that is no file) refuses the batch, and nothing of it is applied.
    expect((await update([{ id: a, properties: { hs_call_title: 'a?' } }, { id: b, properties: { hs_attachment_ids: '999' } }])).status).toBe(400);
    expect(sim.calls.get(a)!.properties.hs_call_title).toBe('a!');
    expect((await update([])).status).toBe(200);
    expect((await update(Array.from({ length: 101 }, (_, i) => ({ id: String(i), properties: {} })))).status).toBe(400);

    const read = await send('POST', '/crm/v3/objects/calls/batch/read', { inputs: [{ id: b }, { id: '424242' }], properties: ['hs_call_status'], propertiesWithHistory: [] });
    expect(read.status).toBe(207);
    expect(read.body).toMatchObject({ results: [{ id: b, properties: { hs_call_status: 'COMPLETED' } }], errors: [{ context: { ids: ['424242'] } }] });
    // The official file requires propertiesWithHistory: a body without it is refused and recorded.
    expect((await send('POST', '/crm/v3/objects/calls/batch/read', { inputs: [{ id: b }], properties: [] })).status).toBe(400);
    expect(sim.specViolations).toEqual([expect.stringContaining("(/crm/v3/objects/calls/batch/read) request: body must have required property 'propertiesWithHistory'")]);
  });

  it('searches an index that lags writes: for `searchLagMs` an updated call shows its earlier properties, found by `hs_object_id`', async () => {
    const created = await send('POST', '/crm/v3/objects/calls', { properties: { hs_timestamp: '2026-03-01T10:00:00.000Z', hs_call_title: 'before' }, associations: [] });
    const id = String(created.body.id);
    sim.calls.get(id)!.createdAt = '2026-01-01T00:00:00.000Z'; // an older call, long in the index
    sim.searchLagMs = 2_000;
    const byId = { filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: id }] }], properties: ['hs_call_title'], sorts: [], limit: 1, after: '0' };
    const titles = async () => {
      now += 1_000; // past the search limit's window: this test is about the index, not the rate
      return ((await send('POST', '/crm/v3/objects/calls/search', byId)).body.results as Array<{ properties: Record<string, string> }>).map((r) => r.properties.hs_call_title);
    };
    expect(await titles()).toEqual(['before']);
    await send('PATCH', `/crm/v3/objects/calls/${id}`, { properties: { hs_call_title: 'after' } });
    expect(await titles()).toEqual(['before']); // the index has not caught up
    expect((await send('GET', `/crm/v3/objects/calls/${id}?properties=hs_call_title`)).body).toMatchObject({ properties: { hs_call_title: 'after' } }); // a read by id has
    await expect.poll(titles, { timeout: 5_000, interval: 200 }).toEqual(['after']);
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
