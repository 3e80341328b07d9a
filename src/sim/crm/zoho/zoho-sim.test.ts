// The Zoho simulator answers as Zoho does where an adapter gets the contract wrong: a missing
// required parameter, a URL Zoho does not have, its rate limits.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startZohoSimulator, type ZohoSimulator } from './index.js';

let sim: ZohoSimulator;
let token: string;
const get = (path: string) => fetch(`${sim.url}${path}`, { headers: { authorization: `Zoho-oauthtoken ${token}` } });

beforeEach(async () => {
  sim = await startZohoSimulator();
  token = sim.oauth.issueTokens().accessToken;
});
afterEach(() => sim.close());

describe('Zoho simulator', () => {
  it('refuses an attachment listing without the spec’s required fields the way Zoho does, and fails the test', async () => {
    const res = await get('/crm/v8/Calls/4000000000000/Attachments?per_page=200');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 'REQUIRED_PARAM_MISSING', details: { param_name: 'fields' }, message: 'One of the expected parameter is missing', status: 'error' });
    expect(() => sim.assertNoSpecViolations()).toThrow(/query parameter fields is required/);
  });
});

describe('Zoho simulator owners', () => {
  it('refuses a record whose Owner is not the numeric id of an active user, as Zoho does (INVALID_DATA on Owner)', async () => {
    const post = (Owner: unknown) =>
      fetch(`${sim.url}/crm/v8/Calls`, {
        method: 'POST',
        headers: { authorization: `Zoho-oauthtoken ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ data: [{ Subject: 'Call', Call_Type: 'Missed', Call_Start_Time: '2026-03-02T09:15:04+00:00', Owner }] }),
      }).then(async (res) => ((await res.json()) as { data: Array<{ code: string; status: string; details: Record<string, unknown> }> }).data[0]!);
    for (const id of ['jane@acme.com', '9999999999999']) {
      expect(await post({ id })).toMatchObject({ status: 'error', code: 'INVALID_DATA', details: { api_name: 'Owner' } });
    }
    expect(sim.records.Calls).toHaveLength(0);
    const jane = sim.addUser({ email: 'jane@acme.com', name: 'Jane Doe' });
    expect(await post({ id: jane.id })).toMatchObject({ status: 'success' });
    expect(sim.records.Calls[0]!.Owner).toEqual({ id: jane.id, name: 'Jane Doe', email: 'jane@acme.com' });
    expect(sim.specViolations).toEqual([]);
  });
});

describe('Zoho simulator limits', () => {
  it('answers an endpoint it does not implement as Zoho does (404 INVALID_URL_PATTERN)', async () => {
    const res = await get('/crm/v8/Calls/4000000000000/Notes?fields=id');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ code: 'INVALID_URL_PATTERN', details: {}, message: 'Please check if the URL trying to access is a correct one', status: 'error' });
    sim.specViolations.length = 0; // the violation is the point here
  });

  it('zoho sim refuses calls beyond the edition’s concurrency and its 24-hour API credits, with 429', async () => {
    await sim.close();
    let clock = Date.UTC(2026, 0, 1);
    sim = await startZohoSimulator({ edition: 'free', creditsUsed: 4_990, now: () => clock });
    token = sim.oauth.issueTokens().accessToken;
    expect([sim.limits.concurrency, sim.limits.credits]).toEqual([5, 5_000]);

    // Five calls still in progress (their answers never come) fill the Free edition's concurrency.
    sim.faults.next({ timeoutAfterApply: true, mode: 'hang' });
    const held = new AbortController();
    const search = '/crm/v8/Contacts/search?phone=123&fields=id';
    const inProgress = Array.from({ length: 5 }, () => fetch(`${sim.url}${search}`, { headers: { authorization: `Zoho-oauthtoken ${token}` }, signal: held.signal }).catch(() => null));
    for (let i = 1; i < 5; i++) sim.faults.next({ timeoutAfterApply: true, mode: 'hang' });
    await expect.poll(() => sim.requests.length).toBe(5);
    const sixth = await get(search);
    expect([sixth.status, ((await sixth.json()) as { code: string }).code]).toEqual([429, 'TOO_MANY_REQUESTS']);

    held.abort();
    await Promise.all(inProgress);
    await expect.poll(async () => (await get(search)).status).toBe(204);

    // 4,990 + 5 held + the polls: the rest of the 5,000 credits, then LIMIT_EXCEEDED until a day has passed.
    let last: Response;
    do last = await get(search);
    while (last.status === 204);
    expect([last.status, ((await last.json()) as { code: string }).code]).toEqual([429, 'LIMIT_EXCEEDED']);
    clock += 24 * 60 * 60 * 1000 + 1;
    expect((await get(search)).status).toBe(204);
  });
});
