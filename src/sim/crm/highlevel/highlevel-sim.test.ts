// The HighLevel simulator's rate limits, at HighLevel's numbers.
import { afterEach, describe, expect, it } from 'vitest';
import { startHighLevelSimulator, type HighLevelSimulator } from './index.js';

let sim: HighLevelSimulator;
afterEach(() => sim.close());

describe('HighLevel simulator limits', () => {
  it('highlevel sim allows a burst of 100 requests per 10 s per location, then 429 with the X-RateLimit headers', async () => {
    let clock = Date.UTC(2026, 0, 1);
    sim = await startHighLevelSimulator({ now: () => clock });
    const { accessToken } = sim.oauth.issueTokens();
    const lookup = () =>
      fetch(`${sim.url}/contacts/search/duplicate?locationId=${sim.locationId}&number=%2B14155550132`, {
        headers: { authorization: `Bearer ${accessToken}`, version: '2021-07-28' },
      });

    const statuses: number[] = [];
    for (let i = 0; i < 101; i++) statuses.push((await lookup()).status);
    expect(statuses.slice(0, 100).every((s) => s === 200)).toBe(true);
    expect(statuses[100]).toBe(429);
    const refused = await lookup();
    expect(Object.fromEntries(['x-ratelimit-max', 'x-ratelimit-remaining', 'x-ratelimit-interval-milliseconds', 'x-ratelimit-limit-daily'].map((h) => [h, refused.headers.get(h)]))).toEqual({
      'x-ratelimit-max': '100', 'x-ratelimit-remaining': '0', 'x-ratelimit-interval-milliseconds': '10000', 'x-ratelimit-limit-daily': '200000',
    });
    expect(await refused.json()).toEqual({ statusCode: 429, message: 'Too Many Requests' });

    clock += 10_001; // the 10-second window has rolled on
    const again = await lookup();
    expect([again.status, again.headers.get('x-ratelimit-daily-remaining')]).toEqual([200, String(200_000 - 101)]);
    sim.assertNoSpecViolations();
  });
});

describe('HighLevel simulator users', () => {
  it('highlevel sim serves search-users as users.json has it and refuses a note or task for someone who is not a user of the location', async () => {
    sim = await startHighLevelSimulator();
    const { accessToken } = sim.oauth.issueTokens();
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${sim.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${accessToken}`, version: '2021-07-28', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const jane = sim.addUser({ name: 'Jane Doe', email: 'jane@acme.com' });
    const found = await api('GET', `/users/search?companyId=${sim.companyId}&locationId=${sim.locationId}&query=JANE%40acme.com`);
    expect(await found.json()).toMatchObject({ users: [{ id: jane.id, email: 'jane@acme.com', deleted: false }], count: 1 });

    const ada = sim.addContact({ firstName: 'Ada', phone: '+14155550132' });
    for (const userId of ['jane@acme.com', 'someoneElse000000001']) {
      expect((await api('POST', `/contacts/${ada.id}/notes`, { body: 'Call', userId })).status, userId).toBe(422);
    }
    expect((await api('POST', `/contacts/${ada.id}/tasks`, { title: 'Call back', dueDate: '2026-03-02T10:00:00Z', completed: false, assignedTo: 'jane@acme.com' })).status).toBe(422);
    expect((await api('POST', `/contacts/${ada.id}/notes`, { body: 'Call', userId: jane.id })).status).toBe(201);
    expect(sim.notes.map((n) => n.userId)).toEqual([jane.id]);
    sim.assertNoSpecViolations();
  });
});
