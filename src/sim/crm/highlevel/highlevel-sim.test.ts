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
